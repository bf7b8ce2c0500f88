import type { EventLog } from '../logging/EventLog.js';
import type { MetricGroup } from '../metrics/MetricRegistry.js';
import type { OperatorListState } from '../operators/StreamOperator.js';
import type { ExclusiveDirectory } from '../runtime/DirectoryLock.js';

/** Where a sink writer runs. */
export interface SinkWriterContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly metrics: MetricGroup;
  /** The job's events, bound to this sink and subtask: what a user should hear of goes here, not to stderr. */
  readonly log: EventLog;
  /** What this writer's `snapshotState` returned at the checkpoint the job restored from, if any. */
  readonly restoredState: unknown;
  /**
   * This subtask's share of the lists the writers' `snapshotListState`
   * returned at the checkpoint the job restored from (re-split round-robin
   * when the parallelism changed); undefined when there are none.
   */
  readonly restoredListState?: OperatorListState | undefined;
  /** Every old writer's lists whole, for what every subtask must see; undefined when there are none. */
  readonly restoredUnionListState?: OperatorListState | undefined;
}

/**
 * Writes one subtask's records.
 *
 * A `write` that returns a promise holds back the next record until it
 * settles: that is how a slow sink backpressures the whole job. A writer that
 * buffers internally returns `undefined` while it has room and a promise when
 * it must drain.
 */
export interface SinkWriter<T> {
  write(value: T): void | Promise<void>;
  /**
   * A checkpoint barrier arrived: everything written so far belongs to
   * checkpoint `checkpointId`. Called synchronously at the barrier. An
   * at-least-once writer returns a promise that resolves once all of it is
   * durable; a two-phase-commit writer starts a new transaction and
   * pre-commits the old one. The resolved value is stored in the checkpoint
   * and handed back as `restoredState` after a restore.
   */
  snapshotState?(checkpointId: number): unknown;
  /**
   * Like `snapshotState`, for state that is a collection of independent
   * items (pending transactions, files): the lists come back as
   * `restoredListState`, re-split across subtasks when the job restores at
   * another parallelism, which opaque `snapshotState` cannot.
   */
  snapshotListState?(checkpointId: number): OperatorListState | Promise<OperatorListState>;
  /** Checkpoint `checkpointId` is stored: commit the transactions it covers. */
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  /** End of input: write out anything buffered. */
  flush?(): void | Promise<void>;
  /** Release resources. On failure, uncommitted work is abandoned here. */
  close?(): void | Promise<void>;
}

/** A sink connector: a factory of writers, one per subtask. */
export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T> | Promise<SinkWriter<T>>;
  /**
   * The directory this sink writes by itself, if any (`FileSink`'s output
   * directory): the job locks it for its run, on the thread that runs
   * `execute()`, before any writer is created, so a second job writing it at
   * the same time fails to start instead (see docs/fault-tolerance.md).
   */
  exclusiveDirectory?(): ExclusiveDirectory;
}
