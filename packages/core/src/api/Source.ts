import type { EventLog } from '../logging/EventLog.js';
/** `read()` returns records, or `null` once the input is exhausted. */
export type ReadResult<T> = readonly T[] | null;

/** Where a reader runs. */
export interface SourceReaderContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** Aborted when the job is cancelled or fails: a blocked `read()` should give up. */
  readonly signal: AbortSignal;
  /** The job's events, bound to this source and subtask: what a user should hear of goes here, not to stderr. */
  readonly log: EventLog;
  /** Whether the job takes checkpoints: a reader that acks its broker when one completes waits for none without them. */
  readonly checkpointing: boolean;
  /**
   * Aborted when the job drains (`JobClient.drain()`): a `read()` that waits for data should return at once with what
   * it has (an empty array will do), since the source reads no more once it returns. A read that ignores it delays the
   * drain until data comes.
   */
  readonly drainSignal: AbortSignal;
}

/**
 * Reads records for one subtask of a source, pull-based.
 *
 * The runtime calls `read(max)` whenever it can take more input (never while
 * the job is backpressured), so a reader never buffers more than it returns.
 * `position()` describes what has been read so far, in a form `start()` can
 * resume from: the runtime stores it in checkpoints.
 */
export interface SourceReader<T, TPosition = unknown> {
  /** Called once before the first read, with the position to resume from, if any. */
  start?(position: TPosition | undefined): void | Promise<void>;
  /**
   * Up to `max` records (an empty array means "nothing right now, ask again"),
   * or `null` when the input is exhausted. Return synchronously when records
   * are at hand: it saves a promise per chunk.
   */
  read(max: number): ReadResult<T> | Promise<ReadResult<T>>;
  /** The position just after the last record returned by `read`. */
  position(): TPosition;
  /** A checkpoint that covers everything up to `position` is durable: ack the broker. */
  notifyCheckpointComplete?(checkpointId: number, position: TPosition): void | Promise<void>;
  close?(): void | Promise<void>;
}

/**
 * A source connector: a factory of readers, one per subtask.
 *
 * @example
 * ```ts
 * const countdown: Source<number, number> = {
 *   createReader: () => {
 *     let next = 3;
 *     return {
 *       start: (pos) => { if (pos !== undefined) next = pos; },
 *       read: () => (next > 0 ? [next--] : null),
 *       position: () => next,
 *     };
 *   },
 * };
 * env.fromSource(countdown, 'countdown');
 * ```
 */
export interface Source<T, TPosition = unknown> {
  /** Whether several subtasks may each run a reader (the source splits the input itself). Default: false. */
  readonly parallel?: boolean;
  /**
   * Whether a new reader can read the input again, from the start or from a
   * checkpointed `position`. A restart or a restore creates new readers, so a
   * source over a one-shot input (an iterator, a socket) sets `false`: jobs
   * with such a source refuse a restart strategy and `restoreFrom` when they
   * are built, instead of losing what the first reader had taken. Default: true.
   */
  readonly replayable?: boolean;
  /**
   * Whether a reader's `position()` is an array of independent splits (a
   * file and its offset, a partition and its offset), so the job can restore
   * at another parallelism: the splits of all old readers are dealt out
   * round-robin (old subtask 0's first) and each new reader's `start()` gets
   * its share, an array that may be empty. A reader started without a
   * position (a fresh run) picks its splits from its `subtaskIndex` and
   * `parallelism`. Default: false: restoring at another parallelism is
   * refused, naming the source.
   */
  readonly rescalable?: boolean;
  createReader(ctx: SourceReaderContext): SourceReader<T, TPosition>;
}
