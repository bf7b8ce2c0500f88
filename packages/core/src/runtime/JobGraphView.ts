import { operatorIds } from './checkpoint/operatorIds.js';
import type { JobGraph } from './JobGraph.js';

/**
 * The compiled job as plain data (Flink's `JobPlanInfo`): what runs in which
 * task, and how records move between them. JSON-serializable and
 * structured-clone-safe: a UI or another thread can read it.
 */
export interface JobGraphView {
  /** Every source and operator, in a topological order. */
  readonly operators: readonly JobGraphOperator[];
  /** Every connection between two operators, chained ones included. */
  readonly edges: readonly JobGraphEdge[];
  /** The task vertices: operators chained into one task, head first, with the task's parallelism. */
  readonly vertices: readonly JobGraphVertex[];
}

export interface JobGraphOperator {
  /** The id its state has in checkpoints: its uid, else one derived from its name and inputs. */
  readonly id: string;
  readonly name: string;
  /** Set by `.uid()`. */
  readonly uid?: string;
  readonly kind: 'source' | 'operator' | 'sink';
  readonly parallelism: number;
  /** The vertex (task chain) it runs in. */
  readonly vertex: string;
}

export interface JobGraphEdge {
  /** Operator ids. */
  readonly from: string;
  readonly to: string;
  /**
   * How records are spread over the downstream subtasks: `forward` (subtask i
   * to subtask i), `hash` (by key: `keyBy`), `rebalance` (round-robin:
   * `rebalance()`, or a forward edge between different parallelisms).
   */
  readonly partitioning: 'forward' | 'hash' | 'rebalance';
  /** Both ends run in one task, calling each other directly; else records cross a channel. */
  readonly chained: boolean;
  /** The side output's tag id, when the edge carries one (`getSideOutput`). */
  readonly sideOutput?: string;
}

export interface JobGraphVertex {
  /** Its head operator's id (a task's `TaskId.vertexId`). */
  readonly id: string;
  /** Its operators' names, `Source -> Map`, as tasks are named. */
  readonly name: string;
  readonly parallelism: number;
  /** Operator ids, head first. */
  readonly operators: readonly string[];
}

/** Describes a compiled graph as plain data. */
export function describeJobGraph(graph: JobGraph): JobGraphView {
  const ids = operatorIds(graph.nodes);
  const idOf = (node: JobGraph['nodes'][number]): string => ids.get(node) as string;
  const vertexOf = new Map(graph.chains.flatMap((chain) => chain.nodes.map((node) => [node, idOf(chain.head)] as const)));
  return {
    operators: graph.nodes.map((node) => {
      const t = node.transformation;
      return {
        id: idOf(node),
        name: t.name,
        ...(t.uid === undefined ? {} : { uid: t.uid }),
        kind: t.kind === 'source' ? 'source' : t.isSink ? 'sink' : 'operator',
        parallelism: node.parallelism,
        vertex: vertexOf.get(node) as string,
      };
    }),
    edges: graph.nodes.flatMap((node) =>
      node.outEdges.map((edge) => ({
        from: idOf(edge.from),
        to: idOf(edge.to),
        partitioning: edge.partitioning.kind,
        chained: edge.chained,
        ...(edge.tagId === undefined ? {} : { sideOutput: edge.tagId }),
      })),
    ),
    vertices: graph.chains.map((chain) => ({
      id: idOf(chain.head),
      name: chain.nodes.map((n) => n.transformation.name).join(' -> '),
      parallelism: chain.parallelism,
      operators: chain.nodes.map(idOf),
    })),
  };
}
