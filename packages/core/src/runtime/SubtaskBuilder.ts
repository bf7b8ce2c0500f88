import { describeValue, OptionChecker } from '../api/OptionChecker.js';
import type { Collector } from '../api/functions.js';
import type { Source, SourceReader, SourceReaderContext } from '../api/Source.js';
import type { EventLog } from '../logging/EventLog.js';
import type { Counter, MetricGroup, MetricRegistry } from '../metrics/MetricRegistry.js';
import { distinctNames, metricOperatorNames } from '../metrics/operatorNames.js';
import {
  createOperatorContext,
  restoreOperator,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorFactory,
  type TaskHooks,
} from '../operators/StreamOperator.js';
import { ChainedInput, KeyCheckedInput, operatorOutput, type ChunkCollector, type ChunkOutput } from './ChainOutputs.js';
import type { SubtaskRestore } from './checkpoint/restoreAssignment.js';
import type { Clock } from './Clock.js';
import { InvalidJobError, messageOf } from './errors.js';
import { FusedInput } from './FusedInput.js';
import type { InputGate } from './InputGate.js';
import type { Chain, JobGraph, StreamEdge, StreamNode } from './JobGraph.js';
import { LocalTaskControl } from './LocalTaskGateway.js';
import type { ChainedOperator } from './OperatorChain.js';
import { RecordWriter } from './RecordWriter.js';
import type { ResultPartition } from './ResultPartition.js';
import { HeapKeyedStateBackend } from './state/HeapKeyedStateBackend.js';
import { Task } from './Task.js';
import type { TaskId, TaskReport } from './TaskGateway.js';

/** What a subtask's builder needs of the job: the same in the main thread and in a slot. */
export interface SubtaskBuilderOptions {
  readonly jobName: string;
  readonly jobId: string;
  readonly clock: Clock;
  readonly chunkSize: number;
  readonly closeTimeoutMs: number;
  /** Where the operators' metrics register: the job's registry, or a slot's. */
  readonly registry: MetricRegistry;
  /** 0 for the first attempt, +1 per restart. */
  readonly attempt: number;
  readonly log: EventLog;
  /** State to start from, by operator id and subtask (see `assignRestoredState`). */
  readonly restored: ReadonlyMap<string, readonly (SubtaskRestore | undefined)[]> | undefined;
  /** The checkpoint restored from, `7 (/ckpt/chk-7)`, for restore errors. */
  readonly restoredFrom: string | undefined;
  /** Whether checkpoints are stored: without it the final snapshot skips keyed state. */
  readonly storesSnapshots: boolean;
}

/** Where a subtask's records come from and go to: channels in this heap, or links to other slots. */
export interface SubtaskWiring {
  /** The input of `subtask` of a chain whose head has inputs, and the records it holds (a gauge). */
  input(chain: Chain, subtask: number): { readonly gate: InputGate<unknown>; readonly bufferedRecords: () => number };
  /** Where producer `subtask` of `edge.from` writes along `edge` (an edge that is not chained). */
  partition(edge: StreamEdge, subtask: number): ResultPartition<unknown>;
}

/** A built subtask: the task and its stop switch. */
export interface BuiltSubtask {
  readonly task: Task;
  readonly control: LocalTaskControl;
}

/**
 * The hooks an operator gets before its task exists: they reach the task
 * once it is built. A class rather than closures per task, so the hot paths
 * that call them (an async operator settles every batch through `execute`)
 * see the same call targets in every job.
 */
class TaskHooksRelay implements TaskHooks {
  task: Task | undefined;

  constructor(readonly signal: AbortSignal) {}

  execute(action: () => void, operator: string): void {
    this.task?.execute(action, operator);
  }

  fail(error: unknown, operator: string): void {
    this.task?.fail(error, operator);
  }

  backpressure(until: Promise<unknown>): void {
    this.task?.backpressure(until);
  }
}

/** A task's identity: its id and its name for people, `Map -> Sink (1/2)`. */
export function taskIdentity(chain: Chain, subtask: number, attempt: number, ids: ReadonlyMap<StreamNode, string>): { id: TaskId; name: string } {
  return {
    id: { vertexId: ids.get(chain.head) as string, subtask, attempt },
    name: `${chain.nodes.map((n) => n.transformation.name).join(' -> ')} (${subtask + 1}/${chain.parallelism})`,
  };
}

/**
 * Builds subtasks of a compiled graph (Flink's `StreamTask` setup):
 * operators with their contexts, metrics and restored state, chained
 * outputs, writers to the partitions the wiring gives, and the {@link Task}
 * that runs them. The local runtime builds every subtask with one; a slot
 * builds its own.
 */
export class SubtaskBuilder {
  private readonly metricNames: Map<StreamNode, OperatorMetricName>;

  constructor(
    private readonly graph: JobGraph,
    private readonly ids: ReadonlyMap<StreamNode, string>,
    private readonly options: SubtaskBuilderOptions,
    private readonly wiring: SubtaskWiring,
  ) {
    this.metricNames = operatorMetricNames(graph.nodes);
  }

  /** The metric group of `node`'s subtask: the same ids and variables in every thread. */
  groupOf(node: StreamNode, subtask: number): MetricGroup {
    return operatorGroup(this.options, this.metricNames, node, subtask);
  }

  /** Builds `subtaskIndex` of `chain`; it reports to `reports`. Throws an `InvalidJobError` when restored state does not fit. */
  build(chain: Chain, subtaskIndex: number, reports: (report: TaskReport) => void): BuiltSubtask {
    const { clock, chunkSize, attempt } = this.options;
    const identity = taskIdentity(chain, subtaskIndex, attempt, this.ids);
    const control = new LocalTaskControl(identity.id, clock, this.options.closeTimeoutMs, reports);
    const writers: RecordWriter<unknown>[] = [];
    const inputs = new Map<StreamNode, ChunkCollector<unknown>>();
    const operators: ChainedOperator[] = [];
    // Operators are created before their task exists; their hooks reach it through the relay.
    const hooks = new TaskHooksRelay(control.signal);

    const outputOf = (node: StreamNode): ChunkOutput<unknown> => {
      const main: ChunkCollector<unknown>[] = [];
      const side = new Map<string, Collector<unknown>[]>();
      for (const edge of node.outEdges) {
        let target: ChunkCollector<unknown>;
        if (edge.chained) {
          target = inputs.get(edge.to) as ChunkCollector<unknown>;
        } else {
          const writer = new RecordWriter(this.wiring.partition(edge, subtaskIndex), edge.partitioning, subtaskIndex, chunkSize, hooks);
          writers.push(writer);
          target = writer;
        }
        if (edge.tagId === undefined) main.push(target);
        else side.set(edge.tagId, [...(side.get(edge.tagId) ?? []), target]);
      }
      return operatorOutput(main, side, this.groupOf(node, subtaskIndex).counter('numRecordsOut'));
    };

    /** A map or filter joins the fused run of its only successor, or starts one (see `FusedInput`). */
    const fusedInput = (
      node: StreamNode,
      operator: OneInputStreamOperator<unknown>,
      output: ChunkCollector<unknown>,
      recordsIn: Counter,
    ): FusedInput | undefined => {
      const stage = operator.recordStage?.();
      if (stage === undefined) return undefined;
      // The counter outputOf registered for this node (a group hands out one counter per name).
      const recordsOut = this.groupOf(node, subtaskIndex).counter('numRecordsOut');
      const fused = { stage, recordsIn, recordsOut, description: node.description };
      const [edge, ...more] = node.outEdges;
      const successor = edge?.chained === true && edge.tagId === undefined && more.length === 0 ? inputs.get(edge.to) : undefined;
      return successor instanceof FusedInput ? successor.prepend(fused) : FusedInput.create([fused], output);
    };

    // Tail first, so every operator's successors exist when its output is wired.
    let sourceOutput: ChunkCollector<unknown> | undefined;
    for (const node of [...chain.nodes].reverse()) {
      const t = node.transformation;
      const output = outputOf(node);
      if (t.kind === 'source') {
        sourceOutput = output;
        continue;
      }
      const metrics = this.groupOf(node, subtaskIndex);
      const ctx = createOperatorContext(
        {
          name: t.name,
          uid: t.uid,
          subtaskIndex,
          parallelism: node.parallelism,
          clock,
          metrics,
          output,
          task: hooks,
          log: this.options.log.with({ operator: node.description, subtask: subtaskIndex }),
          keyed: t.keySelector === undefined ? undefined : { selector: t.keySelector, backend: new HeapKeyedStateBackend() },
        },
        (timestamp, key) => operator.onProcessingTime?.(timestamp, key),
      );
      const operator = createOperator(t.factory, ctx);
      const { snapshot, unionListState } = this.restoredFor(node, subtaskIndex) ?? {};
      if (snapshot !== undefined) {
        try {
          restoreOperator(ctx, operator, snapshot, unionListState);
        } catch (error) {
          throw new InvalidJobError(`Cannot restore checkpoint ${this.options.restoredFrom} into operator ${node.description}: ${messageOf(error)}`, {
            cause: error,
          });
        }
      }
      operators.unshift({ id: this.ids.get(node) as string, operator, ctx, restoredFinished: snapshot?.finished === true, terminal: node.outEdges.length === 0 });
      const recordsIn = metrics.counter('numRecordsIn');
      inputs.set(node, fusedInput(node, operator, output, recordsIn) ?? chainedInput(node, operator, recordsIn));
    }

    const head = chain.head;
    if (head.transformation.kind === 'source') {
      const drain = new AbortController();
      const reader = createReader(head.transformation.source, {
        subtaskIndex,
        parallelism: head.parallelism,
        signal: control.signal,
        log: this.options.log.with({ operator: head.description, subtask: subtaskIndex }),
        checkpointing: this.options.storesSnapshots,
        drainSignal: drain.signal,
      });
      const input = {
        kind: 'source',
        id: this.ids.get(head) as string,
        reader,
        description: head.description,
        restoredPosition: this.restoredFor(head, subtaskIndex)?.position,
        readSize: chunkSize,
        drain,
      } as const;
      hooks.task = new Task(identity, control, input, sourceOutput as ChunkCollector<unknown>, operators, writers);
    } else {
      const { gate, bufferedRecords } = this.wiring.input(chain, subtaskIndex);
      // Records waiting in front of the chain's head: the backpressure buffer, bounded by capacity.
      this.groupOf(head, subtaskIndex).gauge('inputQueueRecords', bufferedRecords);
      // The head's ChainedInput counts its records in, as it does for chained operators.
      hooks.task = new Task(identity, control, { kind: 'channel', channel: gate }, inputs.get(head) as ChunkCollector<unknown>, operators, writers);
    }
    const task = hooks.task;
    // Busy, backpressured and idle time belong to the task; they are reported on the operator at its head.
    task.time.register(this.groupOf(head, subtaskIndex));
    task.checkpoints = { report: reports, storesSnapshots: this.options.storesSnapshots };
    return { task, control };
  }

  /**
   * What `subtask` of `node` restores, with copies of what user code is handed (a source position, operator and
   * list state): code may keep and change them, and a later restart in this process restores the same checkpoint
   * again. Keyed state and timers are copied as the backend takes them in.
   */
  private restoredFor(node: StreamNode, subtask: number): SubtaskRestore | undefined {
    const restore = this.options.restored?.get(this.ids.get(node) as string)?.[subtask];
    if (restore === undefined) return undefined;
    const { snapshot, unionListState, position } = restore;
    return {
      snapshot:
        snapshot === undefined
          ? undefined
          : { ...snapshot, ...copyDefined({ operatorState: snapshot.operatorState, listState: snapshot.listState }) },
      unionListState: structuredClone(unionListState),
      position: structuredClone(position),
    };
  }
}

/** A copy of each field that is set; fields that are not stay absent. */
function copyDefined<T extends object>(fields: T): Partial<T> {
  return structuredClone(Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))) as Partial<T>;
}

/** The metric group of one operator subtask, by the job's name and id. */
function operatorGroup(
  job: { readonly jobName: string; readonly jobId: string; readonly registry: MetricRegistry },
  names: ReadonlyMap<StreamNode, OperatorMetricName>,
  node: StreamNode,
  subtask: number,
): MetricGroup {
  const { jobName, jobId, registry } = job;
  const { scopeName, operator } = names.get(node) as OperatorMetricName;
  return registry.scopedGroup(['job', jobName, 'operator', scopeName, String(subtask)], {
    job: jobName,
    job_id: jobId,
    operator,
    uid: node.transformation.uid ?? '',
    subtask: String(subtask),
  });
}

/** Records in and out of one operator over its subtasks, read from the job's registry (where slots' counters arrive too). */
export class OperatorCounters {
  private readonly names: Map<StreamNode, OperatorMetricName>;

  constructor(
    nodes: readonly StreamNode[],
    private readonly job: { readonly jobName: string; readonly jobId: string; readonly registry: MetricRegistry },
  ) {
    this.names = operatorMetricNames(nodes);
  }

  total(node: StreamNode, which: 'numRecordsIn' | 'numRecordsOut'): number {
    // A source has no numRecordsIn; registering it here would add a metric the job never had.
    if (which === 'numRecordsIn' && node.transformation.kind === 'source') return 0;
    let n = 0;
    for (let subtask = 0; subtask < node.parallelism; subtask++) n += operatorGroup(this.job, this.names, node, subtask).counter(which).count;
    return n;
  }
}

/**
 * The input of an operator in a chain: one behind a chained `keyBy` checks each record's key
 * (see KeyCheckedInput), unless the operator does so itself.
 */
function chainedInput(node: StreamNode, operator: OneInputStreamOperator<unknown>, recordsIn: Counter): ChainedInput<unknown> {
  const edge = node.inEdges[0];
  return edge?.chained === true && edge.partitioning.kind === 'hash' && operator.setsKeys !== true
    ? new KeyCheckedInput(operator, recordsIn, node.description, edge.partitioning)
    : new ChainedInput(operator, recordsIn, node.description);
}

/**
 * Creates an operator instance. A factory that throws (a user's `transform`,
 * a function copied per subtask) gets an operator that fails on open, so the
 * failure names the operator and the restart strategy applies.
 */
function createOperator(factory: OperatorFactory<unknown, unknown>, ctx: OperatorContext<unknown>): OneInputStreamOperator<unknown> {
  try {
    const operator = factory(ctx);
    // Else the chain fails on its first use of it, with "Cannot read properties of null".
    if (typeof (operator as Partial<OneInputStreamOperator<unknown>> | null)?.processElement !== 'function') {
      new OptionChecker(`transform('${ctx.name}')`).fail(`the factory must return an operator (an object with processElement()), got ${describeValue(operator)}`);
    }
    return operator;
  } catch (error) {
    return {
      open: () => {
        throw error;
      },
      processElement: () => undefined,
    };
  }
}

/**
 * Creates a subtask's reader. A `createReader` that throws gets a reader that
 * fails on start, so the failure takes the task's path: it names the source,
 * and the restart strategy applies.
 */
function createReader(source: Source<unknown>, ctx: SourceReaderContext): SourceReader<unknown> {
  try {
    return source.createReader(ctx);
  } catch (error) {
    return {
      start: () => {
        throw error;
      },
      read: () => null,
      position: () => undefined,
    };
  }
}

/** How an operator's metrics are told apart: in their readable ids (uid or name) and in the `operator` variable (name). */
interface OperatorMetricName {
  readonly scopeName: string;
  readonly operator: string;
}

/**
 * Operators sharing a name (and uid) get `#2`, `#3`, ... so each subtask's metrics stay distinct; a number
 * another operator's own name already has (one named `step#2`) is skipped.
 */
function operatorMetricNames(nodes: readonly StreamNode[]): Map<StreamNode, OperatorMetricName> {
  const scopeNames = distinctNames(nodes.map(({ transformation: t }) => ({ base: t.uid ?? t.name, among: '' })));
  const operatorNames = metricOperatorNames(nodes.map(({ transformation: t }) => t));
  return new Map(nodes.map((node, i) => [node, { scopeName: scopeNames[i] as string, operator: operatorNames[i] as string }]));
}

