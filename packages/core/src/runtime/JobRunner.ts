import { nearestName } from '../api/OptionChecker.js';
import { EventLog } from '../logging/EventLog.js';
import type { LogFields, Logger, LogLevel } from '../logging/Logger.js';
import type { MetricRegistry, MetricValue } from '../metrics/MetricRegistry.js';
import type { CheckpointStorage, StoredCheckpoint } from './checkpoint/CheckpointStorage.js';
import { SystemClock, type Clock } from './Clock.js';
import { InvalidJobError, JobExecutionError, OperatorError, messageOf, type UnfinishedClose } from './errors.js';
import type { AbandonedWork } from './awaitClose.js';
import { lockDirectories, type DirectoryWriter } from './DirectoryLock.js';
import { deployLocally, JobAttempt, type Deployer } from './JobAttempt.js';
import type { JobGraph } from './JobGraph.js';
import { describeJobGraph, type JobGraphView } from './JobGraphView.js';
import { SlotHost, type SlotJob } from './slots/SlotHost.js';
import { JobWatchdog, type TaskStatus } from './JobWatchdog.js';
import { raceAbort } from './raceAbort.js';
import { restartDelay, type RestartStrategy } from './restartStrategies.js';

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
  /** Unique to this `execute()` (32 hex digits, like Flink's JobID); the `job_id` variable of the job's metrics. */
  readonly jobId: string;
  readonly status: 'finished' | 'cancelled';
  /** Processing time from start to end, in ms (by the environment's clock). */
  readonly runtimeMs: number;
  readonly operators: readonly OperatorStats[];
  /** Every metric of this run at its end, by id (see `MetricEntry.id`). */
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
  /** See {@link JobExecutionResult.jobId}. */
  readonly jobId: string;
  readonly status: JobStatus;
  /**
   * Stops the sources, lets operators close, and resolves `result` with status
   * `cancelled`. A close that does not settle within `closeTimeoutMs` is given
   * up on and listed in `unfinishedCloses`.
   */
  cancel(): void;
  /**
   * Stops the job gracefully (Flink's `stop --drain`): every source reads no
   * more once its read in progress has returned, and its input ends as a
   * bounded source's does. The job then finishes what it read (calls in
   * flight, buffers, end-of-input results), takes its final checkpoint (sinks
   * commit, sources ack their broker) and `result` resolves `finished`. The
   * way to stop an endless job for good without losing what its operators
   * hold (a worker scaled down). A restart meanwhile drains too, from the
   * checkpoint it restored. A read that blocks until data comes delays the
   * drain until it returns; `cancel()` still stops at once. Resumed from the
   * final checkpoint, the sources go on and the other operators start empty
   * (it holds only source positions and sink state); from a periodic one,
   * they keep their state.
   */
  drain(): void;
  readonly result: Promise<JobExecutionResult>;
  /** What each task of the current attempt waits on (empty between attempts), as plain data: to see why a job makes no progress. */
  tasks(): readonly TaskStatus[];
  /** Closes given up on so far (see {@link JobExecutionResult.unfinishedCloses}). */
  readonly unfinishedCloses: readonly UnfinishedClose[];
  /** The compiled job as plain data: operators, tasks and edges (see `StreamExecutionEnvironment.getJobGraph`). */
  graph(): JobGraphView;
  /** The registry the job's metrics are in (the environment's `metrics`); its entries carry this job's `job_id`. */
  readonly metrics: MetricRegistry;
  /**
   * Calls `listener` with every structured event the job writes to its logger
   * from now on (`checkpoint.completed`, `job.restarting`, ...; see
   * docs/observability.md), whatever the logger's level; a listener added
   * in the turn that started the job sees its `job.started`. Returns a
   * function that stops it. A listener that throws (or an async one that rejects) loses that event, never the job.
   */
  onEvent(listener: (event: JobEvent) => void): () => void;
}

/** One structured event of a running job, as its logger receives it. */
export interface JobEvent {
  readonly level: LogLevel;
  readonly message: string;
  /** `event` names it (`checkpoint.completed`); the other fields are the event's. */
  readonly fields: LogFields;
}

export type { SlotJob };

export interface RunnerOptions {
  readonly jobName: string;
  readonly jobId: string;
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
  /** Run in slots, loading the job as this says; undefined: every subtask on this thread. */
  readonly slots?: SlotJob | undefined;
}

/**
 * Runs a compiled job: restores it if asked, runs attempts, and on failure
 * restarts from the latest completed checkpoint as the restart strategy
 * allows.
 */
export function executeJob(graph: JobGraph, options: RunnerOptions): JobClient {
  const { jobName, jobId, clock } = options;
  // The directories the job writes by itself are its own for the whole run, restarts included: locked before
  // anything is read or written (a DirectoryInUseError otherwise), released once it ended, however it ended, and
  // once the work it abandoned (a close or a store past closeTimeoutMs) settled: that work may still write there.
  const directories = lockDirectories(exclusiveDirectories(graph, options), { jobName, jobId });
  const abandonedWork: AbandonedWork[] = [];
  const start = clock.now();
  let status: JobStatus = 'running';
  let cancelled = false;
  /** Asked to drain (see JobClient.drain): every attempt from now on is told to. */
  let draining = false;
  const cancelling = new AbortController();
  let wakeFromDelay: (() => void) | undefined;
  const unfinishedCloses: UnfinishedClose[] = [];
  const view = describeJobGraph(graph);
  let current: JobAttempt | undefined;
  const { slots } = options;
  const deploy: Deployer = slots === undefined ? deployLocally : (plan, reports) => new SlotHost(plan, slots, reports);
  const listeners = new Set<(event: JobEvent) => unknown>();
  const log = new EventLog(withListeners(options.logger, listeners), clock, { job: jobName, jobId });
  const ended = endedRuns(options.registry, jobName);
  // Once this run has ended, the runs of its name that ended before it leave the registry (their results keep their values).
  const endRun = (): void => {
    for (const earlier of ended) options.registry.remove({ job: jobName, job_id: earlier });
    ended.clear();
    ended.add(jobId);
  };
  const watchdog = new JobWatchdog({
    jobName,
    clock: new SystemClock(),
    stallWarningMs: options.stallWarningMs,
    progress: () => current?.progress() ?? 0,
    tasks: () => current?.taskStatuses() ?? [],
    storageCall: () => current?.storageCall(),
    warn: (message, fields) => log.event('warn', 'job.stalled', message, fields),
  });
  const releaseProcess = watchdog.start();
  // Told once the caller holds the client: a listener it adds right after `executeAsync()` sees the job start.
  queueMicrotask(() => log.event('info', 'job.started', `Job '${jobName}' started`, { restoreFrom: options.restoreFrom }));

  const run = async (): Promise<JobExecutionResult> => {
    let loading = true;
    const loaded = loadRestore(options).finally(() => {
      loading = false;
    });
    await raceAbort(loaded, cancelling.signal);
    // Cancelled while the load is pending, with no attempt running yet: nothing else to wait for, so it is abandoned at once.
    const abandoned = loading;
    let restore = abandoned ? undefined : await loaded;
    const restoredFrom = restore?.location;
    let restarts = 0;
    let lastFailure: unknown;
    let operators: OperatorStats[] = graph.nodes.map(({ transformation: { name, uid }, parallelism }) => ({ name, uid, parallelism, recordsIn: 0, recordsOut: 0 }));
    const resultAs = (status: JobExecutionResult['status']): JobExecutionResult => ({
      jobName,
      jobId,
      status,
      runtimeMs: clock.now() - start,
      operators,
      metrics: options.registry.snapshot({ job_id: jobId }),
      restarts,
      lastFailure,
      restoredFrom,
      unfinishedCloses: [...unfinishedCloses],
    });
    if (abandoned) {
      const call = options.restoreFrom === 'latest' ? 'loadLatest()' : `load('${options.restoreFrom}')`;
      log.event('warn', 'checkpoint.abandoned', `${call} of the checkpoint storage had not settled when the job was cancelled; the job ended without it`, { call });
      return resultAs('cancelled');
    }
    if (restore !== undefined) {
      const { checkpointId } = restore.checkpoint;
      log.event('info', 'job.restored', `Job '${jobName}' restores checkpoint ${checkpointId} from ${restore.location}`, { checkpointId, location: restore.location });
    }
    for (;;) {
      // A directory that took no lock file at the start (a full disk) is locked before a restart writes it.
      if (restarts > 0) directories.lockMissing();
      const attempt = new JobAttempt(graph, options, restore, restarts, { unfinishedCloses, abandoned: abandonedWork, log, deploy });
      current = attempt;
      if (cancelled) attempt.cancel();
      else if (draining) attempt.drain();
      const outcome = await attempt.done;
      log.flush();
      operators = outcome.operators;
      if (outcome.failure === undefined) return resultAs(outcome.cancelled ? 'cancelled' : 'finished');
      const { error, operator, task } = outcome.failure;
      // A slot that cannot build the job (its module, graph or restored state) fails as a local job fails to build.
      if (error instanceof InvalidJobError && operator === undefined) throw error;
      const delay = cancelled ? undefined : restartDelay(options.restartStrategy, restarts + 1);
      if (delay === undefined) throw new JobExecutionError(jobName, operator, unwrapOperatorError(error), restarts, [...unfinishedCloses]);
      restarts++;
      lastFailure = unwrapOperatorError(error);
      restore = outcome.latestCheckpoint ?? restore;
      log.event('warn', 'job.restarting', `Job '${jobName}' failed in ${operator ?? 'the runtime'} and restarts in ${delay} ms (restart ${restarts}): ${messageOf(lastFailure)}`, {
        operator,
        task: task?.name,
        subtask: task?.subtask,
        cause: messageOf(lastFailure),
        delayMs: delay,
        attempt: restarts,
        // Absent when the restart is from the start (no checkpoint), as the event's documentation says.
        ...(restore === undefined ? {} : { fromCheckpointId: restore.checkpoint.checkpointId }),
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
      directories.release(abandonedWork);
      status = r.status;
      endRun();
      releaseProcess();
      const records = r.operators.filter((_, i) => graph.nodes[i]?.transformation.kind === 'source').reduce((n, o) => n + o.recordsOut, 0);
      log.event('info', 'job.ended', `Job '${jobName}' ${r.status} after ${r.runtimeMs} ms`, { status: r.status, durationMs: r.runtimeMs, records, restarts: r.restarts });
      return r;
    },
    (error: unknown) => {
      directories.release(abandonedWork);
      status = 'failed';
      endRun();
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
    jobId,
    get status() {
      return status;
    },
    cancel: () => {
      cancelled = true;
      cancelling.abort();
      current?.cancel();
      wakeFromDelay?.();
    },
    drain: () => {
      if (draining || cancelled || status !== 'running') return;
      draining = true;
      log.event('info', 'job.draining', `Job '${jobName}' drains: its sources read no more, and it finishes what it read`, {});
      current?.drain();
    },
    result,
    tasks: () => current?.taskStatuses() ?? [],
    get unfinishedCloses() {
      return [...unfinishedCloses];
    },
    graph: () => view,
    metrics: options.registry,
    onEvent: (listener) => {
      // An async listener's rejection is caught too (see withListeners).
      const own = (event: JobEvent): unknown => listener(event);
      listeners.add(own);
      return () => listeners.delete(own);
    },
  };
}

/** The job's logger, also telling `listeners` (a view, a test) of each event. */
function withListeners(logger: Logger, listeners: ReadonlySet<(event: JobEvent) => unknown>): Logger {
  const tee =
    (level: LogLevel) =>
    (message: string, fields: LogFields): unknown => {
      for (const listener of listeners) {
        try {
          const pending = listener({ level, message, fields });
          // An async listener that rejects, as one that throws, loses that event: never the process.
          if (pending instanceof Promise) pending.catch(() => undefined);
        } catch {
          // A broken listener must not fail the job it watches, nor keep the logger from its line.
        }
      }
      // Returned, so that the EventLog over this tee sees an async logger's rejection too.
      return logger[level](message, fields);
    };
  return { debug: tee('debug'), info: tee('info'), warn: tee('warn'), error: tee('error') };
}

/** The directories the job's checkpoint storage and sinks write by themselves, with how messages name them. */
function exclusiveDirectories(graph: JobGraph, options: RunnerOptions): DirectoryWriter[] {
  const writers: DirectoryWriter[] = [];
  const storage = options.checkpointing?.storage;
  const directory = storage?.exclusiveDirectory?.();
  if (directory !== undefined) {
    const kind = directory.writer ?? storage?.constructor.name ?? 'CheckpointStorage';
    writers.push({ part: `the checkpoint storage ${kind}`, kind, directory });
  }
  for (const node of graph.nodes) {
    const t = node.transformation;
    const sink = t.kind === 'operator' ? t.sink : undefined;
    const own = sink?.exclusiveDirectory?.();
    if (own === undefined) continue;
    const kind = own.writer ?? sink?.constructor.name ?? 'the sink';
    writers.push({ part: `${kind} of operator ${node.description}`, kind, directory: own });
  }
  return writers;
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
    const instead =
      restoreFrom === 'latest' ? '; to start from scratch instead, run without restoreFrom' : nearestName(restoreFrom, ['latest']) === undefined ? '' : "; did you mean 'latest'?";
    throw new InvalidJobError(`Job '${jobName}' cannot restore from ${restoreFrom}: ${messageOf(error)}${instead}`, { cause: error });
  }
}

/** The job error names the operator itself; its cause is what the user code threw. */
function unwrapOperatorError(error: unknown): unknown {
  return error instanceof OperatorError ? error.cause : error;
}

/**
 * The last run of each job name on each registry that has ended: the next run of the name to end drops its metrics,
 * so a registry shared by a long-lived process holds the last ended run of each job and those running, not every
 * run, and a view of an ended run has read its final values before they go.
 */
const ENDED_RUNS = new WeakMap<MetricRegistry, Map<string, Set<string>>>();

function endedRuns(registry: MetricRegistry, jobName: string): Set<string> {
  let byName = ENDED_RUNS.get(registry);
  if (byName === undefined) ENDED_RUNS.set(registry, (byName = new Map<string, Set<string>>()));
  let runs = byName.get(jobName);
  if (runs === undefined) byName.set(jobName, (runs = new Set()));
  return runs;
}
