import type { MetricGroup } from '../metrics/MetricRegistry.js';

/** Where a sink writer runs. */
export interface SinkWriterContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly metrics: MetricGroup;
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
  /** End of input: write out anything buffered. */
  flush?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** A sink connector: a factory of writers, one per subtask. */
export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}
