import { setMaxListeners } from 'node:events';
import type { Collector } from '../api/functions.js';
import type { Source, SourceReader, SourceReaderContext } from '../api/Source.js';
import { EventLog } from '../logging/EventLog.js';
import type { Logger } from '../logging/Logger.js';
import type { Counter, MetricRegistry, MetricValue } from '../metrics/MetricRegistry.js';
import {
  createOperatorContext,
  restoreOperator,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorFactory,
  type TaskHooks,
} from '../operators/StreamOperator.js';
import type { CheckpointStorage, StoredCheckpoint } from './checkpoint/CheckpointStorage.js';
import { CheckpointCoordinator, type TaskPlacement } from './checkpoint/CheckpointCoordinator.js';
import { operatorIds } from './checkpoint/operatorIds.js';
import { assignRestoredState, type SubtaskRestore } from './checkpoint/restoreAssignment.js';
import { SystemClock, type Clock } from './Clock.js';
import { InvalidJobError, JobExecutionError, OperatorError, messageOf, type UnfinishedClose } from './errors.js';
import { InputChannel } from './InputChannel.js';
import { JobWatchdog, type TaskStatus } from './JobWatchdog.js';
import type { Chain, JobGraph, StreamEdge, StreamNode } from './JobGraph.js';
import { RecordWriter } from './RecordWriter.js';
import { restartDelay, type RestartStrategy } from './restartStrategies.js';
import { HeapKeyedStateBackend } from './state/HeapKeyedStateBackend.js';
import { FusedInput } from './FusedInput.js';
import { ChainedInput, operatorOutput, Task, type ChainedOperator, type ChunkCollector, type ChunkOutput, type JobControl } from './Task.js';

/** Records in and out of one operator, summed over its subtasks (and over restarts). */
export interface OperatorStats {
  readonly name: string;
  readonly uid: string | undefined;
  readonly parallelism: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
}

/** How a job ended. `execute()` rejects with a {@link JobExecutionError} instead when it failed. */
export interface JobExecutionResult {
  readonly jobName: string;
  readonly status: 'finished' | 'cancelled';
  /** Processing time from start to end, in ms (by the environment's clock). */
  readonly runtimeMs: number;
  readonly operators: readonly OperatorStats[];
  /** Every metric of the job at its end. */
  readonly metrics: Record<string, MetricValue>;
  /** In-process restarts after failures (see `restartStrategy`). */
  readonly restarts: number;
  /** The cause of the last failure that was recovered from, if any. */
  readonly lastFailure: unknown;
  /** The checkpoint the job started from, when it was restored. */
  readonly restoredFrom: string | undefined;
  /** Closes the job stopped waiting for (see `closeTimeoutMs`), over all attempts. Empty when every close finished. */
  readonly unfinishedCloses: readonly UnfinishedClose[];
}

export type JobStatus = 'running' | 'finished' | 'cancelled' | 'failed';

/** A running job: its status, a way to cancel it, and its result. */
export interface JobClient {
  readonly jobName: string;
  readonly status: JobStatus;
  /**
   * Stops the sources, lets operators close, and resolves `result` with status
   * `cancelled`. A close that does not settle within `closeTimeoutMs` is given
   * up on and listed in `unfinishedCloses`.
   */
  cancel(): void;
  readonly result: Promise<JobExecutionResult>;
  /** What each task of the current attempt waits on (empty between attempts): to see why a job makes no progress. */
  tasks(): readonly TaskStatus[];
  /** Closes given up on so far (see {@link JobExecutionResult.unfinishedCloses}). */
  readonly unfinishedCloses: readonly UnfinishedClose[];
}

export interface RunnerOptions {
  readonly jobName: string;
  readonly clock: Clock;
  readonly registry: MetricRegistry;
  /** Records per chunk between tasks. */
  readonly chunkSize: number;
  /** Chunks a producer may queue in a channel before it waits. */
  readonly channelCapacity: number;
  readonly checkpointing: { readonly intervalMs: number; readonly storage: CheckpointStorage } | undefined;
  readonly restartStrategy: RestartStrategy;
  /** Start from a stored checkpoint: the newest one, or one at a location. */
  readonly restoreFrom: 'latest' | (string & {}) | undefined;
  /** How long a close may take once the job stopped (cancel, failure) before the job goes on without it. */
  readonly closeTimeoutMs: number;
  /** How long no record may move while a task waits on pending work before a warning; 0: never. */
  readonly stallWarningMs: number;
  /** Where the job's events go. */
  readonly logger: Logger;
}

class StopSignal implements JobControl {
  private readonly controller = new AbortController();
  stopped = false;
  failure: Failure | undefined;
  cancelled = false;
  onAbort: () => void = () => undefined;

  constructor(
    readonly clock: Clock,
    readonly closeTimeoutMs: number,
    /** The job's list, kept across attempts. */
    private readonly unfinishedCloses: UnfinishedClose[],
    private readonly log: EventLog,
  ) {
    // Every async operator and many user functions (their calls' signals) listen here, so a
    // job can pass Node's default warning threshold of 10 without leaking anything. Task
    // waits add no listener of their own (see raceAbort).
    setMaxListeners(0, this.controller.signal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  fail(error: unknown, operator: string | undefined, task?: string): void {
    if (this.stopped) return;
    this.failure = { error, operator, task };
    this.stop(error);
  }

  cancel(): void {
    if (this.stopped) return;
    this.cancelled = true;
    this.stop(new Error('job cancelled'));
  }

  closeUnfinished(operator: string, task: string): void {
    this.unfinishedCloses.push({ operator, task });
    this.log.event('warn', 'operator.closeTimedOut', `close() of ${operator} in task '${task}' did not finish within ${this.closeTimeoutMs} ms; the job went on without it`, {
      operator,
      task,
      closeTimeoutMs: this.closeTimeoutMs,
    });
  }

  private stop(reason: unknown): void {
    this.stopped = true;
    this.controller.abort(reason);
    this.onAbort();
  }
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
 * Runs a compiled job: restores it if asked, runs attempts, and on failure
 * restarts from the latest completed checkpoint as the restart strategy
 * allows.
 */
export function executeJob(graph: JobGraph, options: RunnerOptions): JobClient {
  const { jobName, clock } = options;
  const start = clock.now();
  let status: JobStatus = 'running';
  let cancelled = false;
  let wakeFromDelay: (() => void) | undefined;
  const unfinishedCloses: UnfinishedClose[] = [];
  let current: Attempt | undefined;
  const log = new EventLog(options.logger, clock, { job: jobName });
  const watchdog = new JobWatchdog({
    jobName,
    clock: new SystemClock(),
    stallWarningMs: options.stallWarningMs,
    progress: () => current?.progress() ?? 0,
    tasks: () => current?.tasks() ?? [],
    warn: (message, fields) => log.event('warn', 'job.stalled', message, fields),
  });
  const releaseProcess = watchdog.start();
  log.event('info', 'job.started', `Job '${jobName}' started`, { restoreFrom: options.restoreFrom });

  const run = async (): Promise<JobExecutionResult> => {
    let restore = await loadRestore(options);
    const restoredFrom = restore?.location;
    if (restore !== undefined) {
      const { checkpointId } = restore.checkpoint;
      log.event('info', 'job.restored', `Job '${jobName}' restores checkpoint ${checkpointId} from ${restore.location}`, { checkpointId, location: restore.location });
    }
    let restarts = 0;
    let lastFailure: unknown;
    for (;;) {
      const attempt = runAttempt(graph, options, restore, unfinishedCloses, log);
      current = attempt;
      if (cancelled) attempt.cancel();
      const outcome = await attempt.done;
      log.flush();
      const resultAs = (status: JobExecutionResult['status']): JobExecutionResult => ({
        jobName,
        status,
        runtimeMs: clock.now() - start,
        operators: outcome.operators,
        metrics: options.registry.snapshot(),
        restarts,
        lastFailure,
        restoredFrom,
        unfinishedCloses: [...unfinishedCloses],
      });
      if (outcome.failure === undefined) return resultAs(outcome.cancelled ? 'cancelled' : 'finished');
      const { error, operator, task } = outcome.failure;
      const delay = cancelled ? undefined : restartDelay(options.restartStrategy, restarts + 1);
      if (delay === undefined) throw new JobExecutionError(jobName, operator, unwrapOperatorError(error), restarts, [...unfinishedCloses]);
      restarts++;
      lastFailure = unwrapOperatorError(error);
      restore = outcome.latestCheckpoint ?? restore;
      log.event('warn', 'job.restarting', `Job '${jobName}' failed in ${operator ?? 'the runtime'} and restarts in ${delay} ms (restart ${restarts}): ${messageOf(lastFailure)}`, {
        operator,
        task,
        subtask: outcome.failure.subtask,
        cause: messageOf(lastFailure),
        delayMs: delay,
        attempt: restarts,
        fromCheckpointId: restore?.checkpoint.checkpointId,
      });
      current = undefined;
      await new Promise<void>((resolve) => {
        const cancelTimer = clock.schedule(clock.now() + delay, resolve);
        wakeFromDelay = () => {
          cancelTimer();
          resolve();
        };
      });
      wakeFromDelay = undefined;
      if (cancelled) return resultAs('cancelled');
    }
  };

  const result = run().then(
    (r) => {
      status = r.status;
      releaseProcess();
      const records = r.operators.filter((_, i) => graph.nodes[i]?.transformation.kind === 'source').reduce((n, o) => n + o.recordsOut, 0);
      log.event('info', 'job.ended', `Job '${jobName}' ${r.status} after ${r.runtimeMs} ms`, { status: r.status, durationMs: r.runtimeMs, records, restarts: r.restarts });
      return r;
    },
    (error: unknown) => {
      status = 'failed';
      releaseProcess();
      log.event('error', 'job.ended', `Job '${jobName}' failed after ${clock.now() - start} ms: ${messageOf(error)}`, {
        status: 'failed',
        durationMs: clock.now() - start,
        cause: messageOf(error),
      });
      throw error;
    },
  );
  // Whoever awaits `result` sees a failure; a client that nobody awaited yet must not crash the process.
  result.catch(() => undefined);
  return {
    jobName,
    get status() {
      return status;
    },
    cancel: () => {
      cancelled = true;
      current?.cancel();
      wakeFromDelay?.();
    },
    result,
    tasks: () => current?.tasks() ?? [],
    get unfinishedCloses() {
      return [...unfinishedCloses];
    },
  };
}

async function loadRestore(options: RunnerOptions): Promise<StoredCheckpoint | undefined> {
  const { restoreFrom, checkpointing, jobName } = options;
  if (restoreFrom === undefined) return undefined;
  if (checkpointing === undefined) {
    throw new InvalidJobError(`Job '${jobName}': restoreFrom needs checkpointing (env.enableCheckpointing(...)) to know the storage`);
  }
  try {
    return restoreFrom === 'latest' ? await checkpointing.storage.loadLatest() : await checkpointing.storage.load(restoreFrom);
  } catch (error) {
    // Starting from scratch would write everything again: only the user may choose it.
    const instead = restoreFrom === 'latest' ? '; to start from scratch instead, run without restoreFrom' : '';
    throw new InvalidJobError(`Job '${jobName}' cannot restore from ${restoreFrom}: ${messageOf(error)}${instead}`, { cause: error });
  }
}

/** What failed an attempt: the error, and the operator and task (subtask) it came from when known. */
interface Failure {
  readonly error: unknown;
  readonly operator: string | undefined;
  readonly task: string | undefined;
}

interface AttemptOutcome {
  readonly failure: (Failure & { readonly subtask: number | undefined }) | undefined;
  readonly cancelled: boolean;
  readonly operators: OperatorStats[];
  readonly latestCheckpoint: StoredCheckpoint | undefined;
}

/** One attempt at running the job: how to stop it, its outcome, and what it is doing meanwhile. */
interface Attempt {
  readonly cancel: () => void;
  readonly done: Promise<AttemptOutcome>;
  /** Records in and out of every operator so far: grows while the attempt makes progress. */
  progress(): number;
  tasks(): TaskStatus[];
}

/** Instantiates every subtask of the graph (restoring state if given) and runs them to the end. */
function runAttempt(
  graph: JobGraph,
  options: RunnerOptions,
  restore: StoredCheckpoint | undefined,
  unfinishedCloses: UnfinishedClose[],
  log: EventLog,
): Attempt {
  const { jobName, clock, registry } = options;
  const stop = new StopSignal(clock, options.closeTimeoutMs, unfinishedCloses, log);
  const ids = operatorIds(graph.nodes);
  const restored =
    restore === undefined
      ? undefined
      : assignRestoredState(
          restore,
          graph.nodes.map((n) => ({
            id: ids.get(n) as string,
            name: n.transformation.name,
            parallelism: n.parallelism,
            isSource: n.transformation.kind === 'source',
          })),
        );
  const restoredFor = (node: StreamNode, subtask: number): SubtaskRestore | undefined =>
    restored?.get(ids.get(node) as string)?.[subtask];

  const metricNames = operatorMetricNames(graph.nodes);
  const groupOf = (node: StreamNode, subtask: number) =>
    registry.group('job', jobName, 'operator', metricNames.get(node) as string, String(subtask));
  const counters = new Map(graph.nodes.map((node) => [node, { recordsIn: [] as { count: number }[], recordsOut: [] as { count: number }[] }]));

  const channelOf = new Map<Chain, InputChannel<unknown>[]>();
  const slotOffset = new Map<StreamEdge, number>();
  for (const chain of graph.chains) {
    let producers = 0;
    for (const edge of chain.head.inEdges) {
      // Each upstream subtask of each edge into a chain writes to its own queue of the chain's channels.
      slotOffset.set(edge, producers);
      producers += edge.from.parallelism;
    }
    if (producers === 0) continue;
    const channels = Array.from({ length: chain.parallelism }, () => new InputChannel<unknown>(producers, options.channelCapacity));
    channelOf.set(chain, channels);
    channels.forEach((channel, subtask) => {
      // Records waiting in front of the chain's head: the backpressure buffer, bounded by capacity.
      groupOf(chain.head, subtask).gauge('inputQueueRecords', () => channel.bufferedRecords);
    });
  }
  const chainOfHead = new Map(graph.chains.map((c) => [c.head, c]));
  stop.onAbort = () => {
    for (const channels of channelOf.values()) for (const c of channels) c.release();
  };

  const placements = new Map<Task, TaskPlacement>();
  const sourceTasks: Task[] = [];
  for (const chain of graph.chains) {
    for (let subtask = 0; subtask < chain.parallelism; subtask++) {
      const task = buildTask(chain, subtask);
      // Busy time belongs to the task; it is reported on the operator at its head.
      task.busyTimeMs = groupOf(chain.head, subtask).counter('busyTimeMs');
      placements.set(task, {
        subtaskIndex: subtask,
        parallelism: chain.parallelism,
        names: new Map(chain.nodes.map((n) => [ids.get(n) as string, n.transformation.name])),
      });
      if (chain.head.transformation.kind === 'source') sourceTasks.push(task);
    }
  }

  const coordinator = new CheckpointCoordinator({
    jobName,
    clock,
    intervalMs: options.checkpointing?.intervalMs ?? 0,
    storage: options.checkpointing?.storage,
    tasks: placements,
    sourceTasks,
    lastCheckpointId: restore?.checkpoint.checkpointId ?? 0,
    metrics: registry.group('job', jobName, 'checkpoints'),
    log,
    fail: (error) => stop.fail(error, undefined),
  });
  for (const task of placements.keys()) task.checkpoints = coordinator;

  function buildTask(chain: Chain, subtaskIndex: number): Task {
    const taskName = `${chain.nodes.map((n) => n.transformation.name).join(' -> ')} (${subtaskIndex + 1}/${chain.parallelism})`;
    const writers: RecordWriter<unknown>[] = [];
    const inputs = new Map<StreamNode, ChunkCollector<unknown>>();
    const operators: ChainedOperator[] = [];
    // Operators are created before their task exists; their hooks reach it through the relay.
    const hooks = new TaskHooksRelay(stop.signal);

    const outputOf = (node: StreamNode): ChunkOutput<unknown> => {
      const main: ChunkCollector<unknown>[] = [];
      const side = new Map<string, Collector<unknown>[]>();
      for (const edge of node.outEdges) {
        let target: ChunkCollector<unknown>;
        if (edge.chained) {
          target = inputs.get(edge.to) as ChunkCollector<unknown>;
        } else {
          const writer = new RecordWriter(
            channelOf.get(chainOfHead.get(edge.to) as Chain) as InputChannel<unknown>[],
            edge.partitioning,
            subtaskIndex,
            (slotOffset.get(edge) as number) + subtaskIndex,
            options.chunkSize,
            hooks,
          );
          writers.push(writer);
          target = writer;
        }
        if (edge.tagId === undefined) main.push(target);
        else side.set(edge.tagId, [...(side.get(edge.tagId) ?? []), target]);
      }
      const recordsOut = groupOf(node, subtaskIndex).counter('numRecordsOut');
      counters.get(node)?.recordsOut.push(recordsOut);
      return operatorOutput(main, side, recordsOut);
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
      const metrics = groupOf(node, subtaskIndex);
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
          log: log.with({ operator: node.description, subtask: subtaskIndex }),
          keyed: t.keySelector === undefined ? undefined : { selector: t.keySelector, backend: new HeapKeyedStateBackend() },
        },
        (timestamp, key) => operator.onProcessingTime?.(timestamp, key),
      );
      const operator = createOperator(t.factory, ctx);
      const snapshot = restoredFor(node, subtaskIndex)?.snapshot;
      if (snapshot !== undefined) {
        try {
          restoreOperator(ctx, operator, snapshot);
        } catch (error) {
          throw new InvalidJobError(
            `Cannot restore checkpoint ${restore?.checkpoint.checkpointId} (${restore?.location}) into operator ${node.description}: ${messageOf(error)}`,
            { cause: error },
          );
        }
      }
      operators.unshift({ id: ids.get(node) as string, operator, ctx });
      const recordsIn = metrics.counter('numRecordsIn');
      counters.get(node)?.recordsIn.push(recordsIn);
      inputs.set(node, fusedInput(node, operator, output, recordsIn) ?? new ChainedInput(operator, recordsIn, node.description));
    }

    /** A map or filter joins the fused run of its only successor, or starts one (see `FusedInput`). */
    function fusedInput(
      node: StreamNode,
      operator: OneInputStreamOperator<unknown>,
      output: ChunkCollector<unknown>,
      recordsIn: Counter,
    ): FusedInput | undefined {
      const stage = operator.recordStage?.();
      if (stage === undefined) return undefined;
      // The counter outputOf registered for this node (a group hands out one counter per name).
      const recordsOut = groupOf(node, subtaskIndex).counter('numRecordsOut');
      const fused = { stage, recordsIn, recordsOut, description: node.description };
      const [edge, ...more] = node.outEdges;
      const successor = edge?.chained === true && edge.tagId === undefined && more.length === 0 ? inputs.get(edge.to) : undefined;
      return successor instanceof FusedInput ? successor.prepend(fused) : FusedInput.create([fused], output);
    }

    const head = chain.head;
    if (head.transformation.kind === 'source') {
      const reader = createReader(head.transformation.source, { subtaskIndex, parallelism: head.parallelism, signal: stop.signal });
      hooks.task = new Task(
        taskName,
        stop,
        {
          kind: 'source',
          id: ids.get(head) as string,
          reader,
          description: head.description,
          restoredPosition: restoredFor(head, subtaskIndex)?.position,
          readSize: options.chunkSize,
        },
        sourceOutput as ChunkCollector<unknown>,
        operators,
        writers,
      );
    } else {
      const channel = (channelOf.get(chain) as InputChannel<unknown>[])[subtaskIndex] as InputChannel<unknown>;
      // The head's ChainedInput counts its records in, as it does for chained operators.
      hooks.task = new Task(taskName, stop, { kind: 'channel', channel }, inputs.get(head) as ChunkCollector<unknown>, operators, writers);
    }
    return hooks.task;
  }

  const total = (node: StreamNode, which: 'recordsIn' | 'recordsOut'): number =>
    counters.get(node)?.[which].reduce((n, c) => n + c.count, 0) ?? 0;
  coordinator.start();
  const done = Promise.all([...placements.keys()].map((t) => t.run())).then(async (): Promise<AttemptOutcome> => {
    coordinator.stop();
    await coordinator.settled();
    const failure = stop.failure;
    const failedTask = failure?.task === undefined ? undefined : [...placements].find(([t]) => t.name === failure.task)?.[1];
    return {
      failure: failure === undefined ? undefined : { ...failure, subtask: failedTask?.subtaskIndex },
      cancelled: stop.cancelled,
      latestCheckpoint: coordinator.latest,
      operators: graph.nodes.map((node) => ({
        name: node.transformation.name,
        uid: node.transformation.uid,
        parallelism: node.parallelism,
        recordsIn: total(node, 'recordsIn'),
        recordsOut: total(node, 'recordsOut'),
      })),
    };
  });
  return {
    cancel: () => stop.cancel(),
    done,
    progress: () => graph.nodes.reduce((n, node) => n + total(node, 'recordsIn') + total(node, 'recordsOut'), 0),
    tasks: () => [...placements.keys()].map((t) => ({ task: t.name, waitingOn: t.waitingOn, ended: t.ended })),
  };
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

/**
 * The name of each operator's metric group: its uid, else its name, with
 * `#2`, `#3` ... when several operators share a name (two `Map`s), so their
 * counters never merge.
 */
function operatorMetricNames(nodes: readonly StreamNode[]): Map<StreamNode, string> {
  const seen = new Map<string, number>();
  const names = new Map<StreamNode, string>();
  for (const node of nodes) {
    const base = node.transformation.uid ?? node.transformation.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    names.set(node, n === 1 ? base : `${base}#${n}`);
  }
  return names;
}

/** The job error names the operator itself; its cause is what the user code threw. */
function unwrapOperatorError(error: unknown): unknown {
  return error instanceof OperatorError ? error.cause : error;
}
