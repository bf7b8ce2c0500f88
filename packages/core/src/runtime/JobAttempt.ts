import type { Collector } from '../api/functions.js';
import type { Source, SourceReader, SourceReaderContext } from '../api/Source.js';
import type { Counter, MetricGroup } from '../metrics/MetricRegistry.js';
import {
  createOperatorContext,
  restoreOperator,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorFactory,
  type TaskHooks,
} from '../operators/StreamOperator.js';
import type { EventLog } from '../logging/EventLog.js';
import { CheckpointCoordinator, type TaskPlacement } from './checkpoint/CheckpointCoordinator.js';
import type { StoredCheckpoint } from './checkpoint/CheckpointStorage.js';
import { operatorIds } from './checkpoint/operatorIds.js';
import { assignRestoredState, type SubtaskRestore } from './checkpoint/restoreAssignment.js';
import { InvalidJobError, messageOf, type UnfinishedClose } from './errors.js';
import { FusedInput } from './FusedInput.js';
import { InputChannel } from './InputChannel.js';
import type { Chain, JobGraph, StreamEdge, StreamNode } from './JobGraph.js';
import type { OperatorStats, RunnerOptions } from './JobRunner.js';
import type { TaskStatus } from './JobWatchdog.js';
import { LocalTaskControl, LocalTaskGateway } from './LocalTaskGateway.js';
import { RecordWriter } from './RecordWriter.js';
import { LocalResultPartition } from './ResultPartition.js';
import { HeapKeyedStateBackend } from './state/HeapKeyedStateBackend.js';
import { ChainedInput, operatorOutput, type ChunkCollector, type ChunkOutput } from './ChainOutputs.js';
import type { ChainedOperator } from './OperatorChain.js';
import { Task } from './Task.js';
import { taskKey, type TaskId, type TaskReport } from './TaskGateway.js';

/** How an attempt ended. */
export interface AttemptOutcome {
  /** What failed the attempt, with the operator and the task (a subtask of it) when known. */
  readonly failure: { error: unknown; operator: string | undefined; task: { name: string; subtask: number } | undefined } | undefined;
  readonly cancelled: boolean;
  readonly operators: OperatorStats[];
  readonly latestCheckpoint: StoredCheckpoint | undefined;
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

/**
 * One attempt at running the job: instantiates every subtask of the graph
 * (restoring state if given), wires their channels, runs them to the end and
 * reports its outcome. The runner and the checkpoint coordinator reach the
 * tasks through a gateway; every task reports back through `receive`.
 */
export class JobAttempt {
  /** Settles once every task has ended and no checkpoint is being stored. */
  readonly done: Promise<AttemptOutcome>;
  private readonly ids: Map<StreamNode, string>;
  private readonly restored: Map<string, SubtaskRestore[]> | undefined;
  private readonly metricNames: Map<StreamNode, OperatorMetricName>;
  private readonly counters: Map<StreamNode, { recordsIn: Counter[]; recordsOut: Counter[] }>;
  private readonly channelOf = new Map<Chain, InputChannel<unknown>[]>();
  /** Each edge's first queue in its target channels: each upstream subtask of each edge writes to a queue of its own. */
  private readonly slotOffset = new Map<StreamEdge, number>();
  private readonly chainOfHead: Map<StreamNode, Chain>;
  private readonly gateway = new LocalTaskGateway((report) => this.receive(report));
  private readonly tasks: Task[] = [];
  private readonly names = new Map<string, string>();
  private readonly coordinator: CheckpointCoordinator;
  private failure: AttemptOutcome['failure'];
  private cancelled = false;
  private stopped = false;
  private running = 0;
  private allEnded: () => void = () => undefined;

  constructor(
    private readonly graph: JobGraph,
    private readonly options: RunnerOptions,
    private readonly restore: StoredCheckpoint | undefined,
    /** The job's list, kept across attempts. */
    private readonly unfinishedCloses: UnfinishedClose[],
    /** 0 for the first attempt, +1 per restart. */
    private readonly attempt: number,
    /** The job's events. */
    private readonly log: EventLog,
  ) {
    const ids = operatorIds(graph.nodes);
    this.ids = ids;
    this.restored =
      restore === undefined
        ? undefined
        : assignRestoredState(
            restore,
            graph.nodes.map((n) => ({
              id: ids.get(n) as string,
              name: n.transformation.name,
              parallelism: n.parallelism,
              rescalableSource: n.transformation.kind === 'source' && n.transformation.source.rescalable === true,
            })),
          );
    this.metricNames = operatorMetricNames(graph.nodes);
    this.counters = new Map(graph.nodes.map((node) => [node, { recordsIn: [], recordsOut: [] }]));
    this.chainOfHead = new Map(graph.chains.map((c) => [c.head, c]));
    this.createChannels();

    const placements: TaskPlacement[] = [];
    for (const chain of graph.chains) {
      for (let subtask = 0; subtask < chain.parallelism; subtask++) {
        const task = this.buildTask(chain, subtask);
        // Busy, backpressured and idle time belong to the task; they are reported on the operator at its head.
        task.time.register(this.groupOf(chain.head, subtask));
        this.tasks.push(task);
        placements.push({
          id: task.id,
          parallelism: chain.parallelism,
          isSource: chain.head.transformation.kind === 'source',
          names: new Map(chain.nodes.map((n) => [ids.get(n) as string, n.transformation.name])),
        });
      }
    }

    const { jobName, clock, registry, checkpointing } = options;
    this.coordinator = new CheckpointCoordinator({
      jobName,
      clock,
      intervalMs: checkpointing?.intervalMs ?? 0,
      storage: checkpointing?.storage,
      tasks: placements,
      gateway: this.gateway,
      lastCheckpointId: restore?.checkpoint.checkpointId ?? 0,
      // Without checkpointing there is nothing to count: no metric rather than zeros.
      metrics:
        checkpointing === undefined
          ? undefined
          : registry.scopedGroup(['job', jobName, 'checkpoints'], { job: jobName, job_id: this.options.jobId }),
      log,
      fail: (error) => this.fail(error, undefined),
    });
    for (const task of this.tasks) task.checkpoints = { report: (r) => this.receive(r), storesSnapshots: this.coordinator.storesSnapshots };

    const ended = new Promise<void>((resolve) => (this.allEnded = resolve));
    this.coordinator.start();
    this.running = this.tasks.length;
    for (const task of this.tasks) this.gateway.deploy(task.id);
    this.done = ended.then(async () => {
      this.coordinator.stop();
      await this.coordinator.settled();
      return this.outcome();
    });
  }

  /** Stops every task; the attempt ends `cancelled`. */
  cancel(): void {
    if (this.stopped) return;
    this.cancelled = true;
    this.stop(new Error('job cancelled'));
  }

  /** Records in and out of every operator so far: grows while the attempt makes progress. */
  progress(): number {
    return this.graph.nodes.reduce((n, node) => n + this.total(node, 'recordsIn') + this.total(node, 'recordsOut'), 0);
  }

  taskStatuses(): TaskStatus[] {
    return this.tasks.map((t) => t.status());
  }

  /** What the tasks report: checkpoint messages go on to the coordinator. */
  private receive(report: TaskReport): void {
    switch (report.kind) {
      case 'failed':
        return this.fail(report.error, report.operator, report.task);
      case 'closeUnfinished': {
        const { operator } = report;
        const task = this.nameOf(report.task);
        const { closeTimeoutMs } = this.options;
        this.unfinishedCloses.push({ operator, task });
        this.log.event('warn', 'operator.closeTimedOut', `close() of ${operator} in task '${task}' did not finish within ${closeTimeoutMs} ms; the job went on without it`, {
          operator,
          task,
          closeTimeoutMs,
        });
        return;
      }
      case 'finished':
        if (--this.running === 0) this.allEnded();
        return;
      default:
        this.coordinator.receive(report);
    }
  }

  private nameOf(task: TaskId): string {
    return this.names.get(taskKey(task)) ?? taskKey(task);
  }

  private fail(error: unknown, operator: string | undefined, task?: TaskId): void {
    if (this.stopped) return;
    this.failure = { error, operator, task: task === undefined ? undefined : { name: this.nameOf(task), subtask: task.subtask } };
    this.stop(error);
  }

  private stop(reason: unknown): void {
    this.stopped = true;
    for (const task of this.tasks) this.gateway.send(task.id, { kind: 'cancel', reason });
    for (const channels of this.channelOf.values()) for (const c of channels) c.release();
  }

  private outcome(): AttemptOutcome {
    return {
      failure: this.failure,
      cancelled: this.cancelled,
      latestCheckpoint: this.coordinator.latest,
      operators: this.graph.nodes.map((node) => ({
        name: node.transformation.name,
        uid: node.transformation.uid,
        parallelism: node.parallelism,
        recordsIn: this.total(node, 'recordsIn'),
        recordsOut: this.total(node, 'recordsOut'),
      })),
    };
  }

  private total(node: StreamNode, which: 'recordsIn' | 'recordsOut'): number {
    return this.counters.get(node)?.[which].reduce((n, c) => n + c.count, 0) ?? 0;
  }

  private groupOf(node: StreamNode, subtask: number): MetricGroup {
    const { jobName, jobId, registry } = this.options;
    const { scopeName, operator } = this.metricNames.get(node) as OperatorMetricName;
    return registry.scopedGroup(['job', jobName, 'operator', scopeName, String(subtask)], {
      job: jobName,
      job_id: jobId,
      operator,
      uid: node.transformation.uid ?? '',
      subtask: String(subtask),
    });
  }

  private restoredFor(node: StreamNode, subtask: number): SubtaskRestore | undefined {
    return this.restored?.get(this.ids.get(node) as string)?.[subtask];
  }

  private createChannels(): void {
    for (const chain of this.graph.chains) {
      let producers = 0;
      for (const edge of chain.head.inEdges) {
        this.slotOffset.set(edge, producers);
        producers += edge.from.parallelism;
      }
      if (producers === 0) continue;
      const channels = Array.from({ length: chain.parallelism }, () => new InputChannel<unknown>(producers, this.options.channelCapacity));
      this.channelOf.set(chain, channels);
      channels.forEach((channel, subtask) => {
        // Records waiting in front of the chain's head: the backpressure buffer, bounded by capacity.
        this.groupOf(chain.head, subtask).gauge('inputQueueRecords', () => channel.bufferedRecords);
      });
    }
  }

  private buildTask(chain: Chain, subtaskIndex: number): Task {
    const { clock, chunkSize } = this.options;
    const id: TaskId = { vertexId: this.ids.get(chain.head) as string, subtask: subtaskIndex, attempt: this.attempt };
    const taskName = `${chain.nodes.map((n) => n.transformation.name).join(' -> ')} (${subtaskIndex + 1}/${chain.parallelism})`;
    this.names.set(taskKey(id), taskName);
    const control = new LocalTaskControl(id, clock, this.options.closeTimeoutMs, (report) => this.receive(report));
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
          const partition = new LocalResultPartition(
            this.channelOf.get(this.chainOfHead.get(edge.to) as Chain) as InputChannel<unknown>[],
            (this.slotOffset.get(edge) as number) + subtaskIndex,
          );
          const writer = new RecordWriter(partition, edge.partitioning, subtaskIndex, chunkSize, hooks);
          writers.push(writer);
          target = writer;
        }
        if (edge.tagId === undefined) main.push(target);
        else side.set(edge.tagId, [...(side.get(edge.tagId) ?? []), target]);
      }
      const recordsOut = this.groupOf(node, subtaskIndex).counter('numRecordsOut');
      this.counters.get(node)?.recordsOut.push(recordsOut);
      return operatorOutput(main, side, recordsOut);
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
          log: this.log.with({ operator: node.description, subtask: subtaskIndex }),
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
          throw new InvalidJobError(
            `Cannot restore checkpoint ${this.restore?.checkpoint.checkpointId} (${this.restore?.location}) into operator ${node.description}: ${messageOf(error)}`,
            { cause: error },
          );
        }
      }
      operators.unshift({ id: this.ids.get(node) as string, operator, ctx });
      const recordsIn = metrics.counter('numRecordsIn');
      this.counters.get(node)?.recordsIn.push(recordsIn);
      inputs.set(node, fusedInput(node, operator, output, recordsIn) ?? new ChainedInput(operator, recordsIn, node.description));
    }

    const head = chain.head;
    if (head.transformation.kind === 'source') {
      const reader = createReader(head.transformation.source, {
        subtaskIndex,
        parallelism: head.parallelism,
        signal: control.signal,
        log: this.log.with({ operator: head.description, subtask: subtaskIndex }),
      });
      hooks.task = new Task(
        { id, name: taskName },
        control,
        {
          kind: 'source',
          id: this.ids.get(head) as string,
          reader,
          description: head.description,
          restoredPosition: this.restoredFor(head, subtaskIndex)?.position,
          readSize: chunkSize,
        },
        sourceOutput as ChunkCollector<unknown>,
        operators,
        writers,
      );
    } else {
      const channel = (this.channelOf.get(chain) as InputChannel<unknown>[])[subtaskIndex] as InputChannel<unknown>;
      // The head's ChainedInput counts its records in, as it does for chained operators.
      hooks.task = new Task({ id, name: taskName }, control, { kind: 'channel', channel }, inputs.get(head) as ChunkCollector<unknown>, operators, writers);
    }
    this.gateway.add(hooks.task, control);
    return hooks.task;
  }
}

/**
 * Creates an operator instance. A factory that throws (a user's `transform`,
 * a function copied per subtask) gets an operator that fails on open, so the
 * failure names the operator and the restart strategy applies.
 */
function createOperator(factory: OperatorFactory<unknown, unknown>, ctx: OperatorContext<unknown>): OneInputStreamOperator<unknown> {
  try {
    return factory(ctx);
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

/** Operators sharing a name (and uid) get `#2`, `#3`, ... so each subtask's metrics stay distinct. */
function operatorMetricNames(nodes: readonly StreamNode[]): Map<StreamNode, OperatorMetricName> {
  const numbered = (seen: Map<string, number>, key: string, base: string): string => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n === 1 ? base : `${base}#${n}`;
  };
  const scopes = new Map<string, number>();
  const operators = new Map<string, number>();
  const names = new Map<StreamNode, OperatorMetricName>();
  for (const node of nodes) {
    const t = node.transformation;
    const base = t.uid ?? t.name;
    names.set(node, {
      scopeName: numbered(scopes, base, base),
      operator: numbered(operators, JSON.stringify([t.name, t.uid]), t.name),
    });
  }
  return names;
}
