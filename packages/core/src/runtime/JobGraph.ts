import type { OperatorTransformation, PhysicalTransformation, Transformation } from '../api/transformations.js';
import { describeOperator, InvalidJobError } from './errors.js';
import type { Partitioning } from './RecordWriter.js';

/** An operator (or source) with its resolved parallelism and edges. */
export interface StreamNode {
  readonly transformation: PhysicalTransformation;
  readonly parallelism: number;
  readonly description: string;
  readonly inEdges: StreamEdge[];
  readonly outEdges: StreamEdge[];
  /** Position in a topological order of the whole graph. */
  order: number;
}

export interface StreamEdge {
  readonly from: StreamNode;
  readonly to: StreamNode;
  /** Side-output tag id, or undefined for the main output. */
  readonly tagId: string | undefined;
  readonly partitioning: Partitioning;
  /** Both ends run in one task, calling each other directly. */
  chained: boolean;
}

/** Operators that run in one task, head first, in topological order. */
export interface Chain {
  readonly head: StreamNode;
  readonly nodes: StreamNode[];
  readonly parallelism: number;
}

export interface JobGraph {
  readonly nodes: StreamNode[];
  readonly chains: Chain[];
}

/**
 * Turns the logical graph into operators, edges and chains.
 *
 * An edge is chained when it needs no repartitioning: forward, same
 * parallelism, the target has this one input and allows chaining (an
 * operator chained `first` only to a source that feeds it alone). A `keyBy`
 * between two operators of parallelism 1 is also chained: every key goes to
 * the one subtask anyway, and the keyed operator extracts the key itself.
 */
export function compileJobGraph(
  transformations: readonly PhysicalTransformation[],
  defaultParallelism: number,
): JobGraph {
  const nodes = new Map<Transformation, StreamNode>();
  for (const t of transformations) {
    const parallelism =
      t.parallelism ?? (t.kind === 'source' && t.source.parallel !== true ? 1 : defaultParallelism);
    nodes.set(t, {
      transformation: t,
      parallelism,
      description: describeOperator(t.name, t.uid),
      inEdges: [],
      outEdges: [],
      order: -1,
    });
  }

  for (const t of transformations) {
    if (t.kind !== 'operator') continue;
    const to = nodes.get(t) as StreamNode;
    for (const input of resolveInputs(t.input, undefined, undefined)) {
      const from = nodes.get(input.node);
      if (from === undefined) throw new InvalidJobError(`Operator ${to.description} reads from a stream that is not part of this job`);
      if (from.transformation.kind === 'operator' && from.transformation.isSink) {
        throw new InvalidJobError(`Operator ${to.description} reads from sink ${from.description}; sinks have no output`);
      }
      const partitioning: Partitioning =
        input.partition?.partitioning === 'hash'
          ? { kind: 'hash', selector: input.partition.keySelector as (v: unknown) => never, description: `keyBy before ${to.description}` }
          : input.partition?.partitioning === 'rebalance' || from.parallelism !== to.parallelism
            ? { kind: 'rebalance' }
            : { kind: 'forward' };
      const edge: StreamEdge = { from, to, tagId: input.tagId, partitioning, chained: false };
      from.outEdges.push(edge);
      to.inEdges.push(edge);
    }
  }

  checkRequiredSideOutputs([...nodes.values()]);

  const ordered = topologicalOrder([...nodes.values()]);
  for (const node of ordered) {
    const t = node.transformation;
    if (node.inEdges.length !== 1 || t.kind !== 'operator' || t.chaining === 'head') continue;
    const edge = node.inEdges[0] as StreamEdge;
    const sameSubtasks = edge.from.parallelism === node.parallelism;
    // 'first' joins only a source task whose reads go to it alone (see Task.readSource).
    if (t.chaining === 'first' && (edge.from.transformation.kind !== 'source' || edge.from.outEdges.length !== 1)) continue;
    edge.chained =
      sameSubtasks &&
      (edge.partitioning.kind === 'forward' || (edge.partitioning.kind === 'hash' && node.parallelism === 1));
  }

  const chains: Chain[] = [];
  const chainOf = new Map<StreamNode, Chain>();
  for (const node of ordered) {
    const chainedIn = node.inEdges.length === 1 && (node.inEdges[0] as StreamEdge).chained;
    if (chainedIn) {
      const chain = chainOf.get((node.inEdges[0] as StreamEdge).from) as Chain;
      chain.nodes.push(node);
      chainOf.set(node, chain);
    } else {
      const chain: Chain = { head: node, nodes: [node], parallelism: node.parallelism };
      chains.push(chain);
      chainOf.set(node, chain);
    }
  }
  return { nodes: ordered, chains };
}

/**
 * Records sent to an unread side output are dropped (as in Flink); for a
 * required one (dead letters) that is data loss, so some path from it must
 * end in a sink.
 */
function checkRequiredSideOutputs(nodes: readonly StreamNode[]): void {
  const reachSink = new Set<StreamNode>();
  const pending = nodes.filter((n) => n.transformation.kind === 'operator' && n.transformation.isSink);
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (reachSink.has(node)) continue;
    reachSink.add(node);
    for (const edge of node.inEdges) pending.push(edge.from);
  }
  for (const node of nodes) {
    const t = node.transformation;
    if (t.kind !== 'operator') continue;
    for (const tagId of t.requiredSideOutputs) {
      if (node.outEdges.some((edge) => edge.tagId === tagId && reachSink.has(edge.to))) continue;
      throw new InvalidJobError(
        `Operator ${node.description} sends records that must not be lost (dead letters) to the side output '${tagId}', but nothing reads it: ` +
          `read it with getSideOutput(tag) and send it to a sink`,
      );
    }
  }
}

interface ResolvedInput {
  readonly node: PhysicalTransformation;
  readonly tagId: string | undefined;
  readonly partition: { partitioning: 'hash' | 'rebalance'; keySelector?: unknown } | undefined;
}

/** Follows virtual nodes (union, partition, side output) down to the physical nodes that feed an operator. */
function resolveInputs(
  t: Transformation,
  tagId: string | undefined,
  partition: ResolvedInput['partition'],
): ResolvedInput[] {
  switch (t.kind) {
    case 'source':
    case 'operator':
      return [{ node: t, tagId, partition }];
    case 'partition':
      return resolveInputs(t.input, tagId, partition ?? { partitioning: t.partitioning, keySelector: t.keySelector });
    case 'union':
      return t.inputs.flatMap((i) => resolveInputs(i, tagId, partition));
    case 'sideOutput':
      return resolveInputs(t.input, t.tagId, partition);
  }
}

function topologicalOrder(nodes: StreamNode[]): StreamNode[] {
  const order: StreamNode[] = [];
  const remaining = new Map(nodes.map((n) => [n, n.inEdges.length]));
  const ready = nodes.filter((n) => n.inEdges.length === 0);
  while (ready.length > 0) {
    const node = ready.shift() as StreamNode;
    node.order = order.length;
    order.push(node);
    for (const edge of node.outEdges) {
      const left = (remaining.get(edge.to) ?? 0) - 1;
      remaining.set(edge.to, left);
      if (left === 0) ready.push(edge.to);
    }
  }
  return order;
}

/**
 * How a chain's input channel is laid out: every upstream subtask of every
 * in-edge writes to a queue of its own. `producers` is a chain's number of
 * queues (0 for a source chain); upstream subtask i of an edge writes to
 * queue `offset.get(edge) + i`.
 */
export function inputQueues(graph: JobGraph): { readonly producers: ReadonlyMap<Chain, number>; readonly offset: ReadonlyMap<StreamEdge, number> } {
  const producers = new Map<Chain, number>();
  const offset = new Map<StreamEdge, number>();
  for (const chain of graph.chains) {
    let queues = 0;
    for (const edge of chain.head.inEdges) {
      offset.set(edge, queues);
      queues += edge.from.parallelism;
    }
    producers.set(chain, queues);
  }
  return { producers, offset };
}

/** The sinks of a graph, to check a job has somewhere to write. */
export function sinksOf(transformations: readonly PhysicalTransformation[]): OperatorTransformation[] {
  return transformations.filter((t): t is OperatorTransformation => t.kind === 'operator' && t.isSink);
}
