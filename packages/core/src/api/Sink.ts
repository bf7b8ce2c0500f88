import type { MetricGroup } from '../metrics/MetricRegistry.js';

/** Where a sink writer runs. */
export interface SinkWriterContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly metrics: MetricGroup;
  /** What this writer's `snapshotState` returned at the checkpoint the job restored from, if any. */
  readonly restoredState: unknown;
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
}
