import type { Sink, SinkWriter } from '../api/Sink.js';
import type { OneInputStreamOperator, OperatorContext, OperatorListState, OperatorSnapshot } from './StreamOperator.js';

/**
 * Hands records to a sink writer, one write at a time: a write that returns a
 * promise holds back the task's input and every later record until it settles
 * (backpressure); a rejected write fails the job naming this sink.
 */
export class SinkOperator<T> implements OneInputStreamOperator<T> {
  private writer: SinkWriter<T> | undefined;
  private restoredState: unknown;
  private restoredLists: { share: OperatorListState; union: OperatorListState } | undefined;
  /** Records behind a write that has not settled, written in order once it has; undefined when no write is pending. */
  private waiting: T[] | undefined;
  private closed = false;

  constructor(
    private readonly ctx: OperatorContext<never>,
    private readonly sink: Sink<T>,
  ) {}

  initializeState(snapshot: OperatorSnapshot): void {
    this.restoredState = snapshot.operatorState;
  }

  initializeListState(share: OperatorListState, union: OperatorListState): void {
    this.restoredLists = { share, union };
  }

  async open(): Promise<void> {
    const writer = await this.sink.createWriter({
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      metrics: this.ctx.metrics,
      log: this.ctx.log,
      restoredState: this.restoredState,
      restoredListState: this.restoredLists?.share,
      restoredUnionListState: this.restoredLists?.union,
    });
    this.restoredState = undefined;
    this.restoredLists = undefined;
    // The job stopped while the writer was being made, and close() found none: what it opened (a file) is closed now.
    if (this.closed) {
      await writer.close?.();
      return;
    }
    this.writer = writer;
  }

  snapshotState(checkpointId: number): unknown {
    return this.writer?.snapshotState?.(checkpointId);
  }

  snapshotListState(checkpointId: number): OperatorListState | Promise<OperatorListState> | undefined {
    return this.writer?.snapshotListState?.(checkpointId);
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.writer?.notifyCheckpointComplete?.(checkpointId);
  }

  processElement(value: T): void {
    if (this.waiting !== undefined) {
      this.waiting.push(value);
      return;
    }
    // open() ran before any record: the writer exists.
    const pending = (this.writer as SinkWriter<T>).write(value);
    if (pending !== undefined) this.writeAfter(pending, []);
  }

  /**
   * Writes a chunk in order. When a write returns a promise, the rest of the
   * chunk waits, and so does every record that comes before it settled (an
   * async operator's completions emit while the task's input is held back):
   * they are written one after another, each after the previous write
   * settled, the same order and pacing as record by record.
   */
  processChunk(values: readonly T[]): void {
    if (this.waiting !== undefined) {
      for (let i = 0; i < values.length; i++) this.waiting.push(values[i] as T);
      return;
    }
    const writer = this.writer as SinkWriter<T>;
    for (let i = 0; i < values.length; i++) {
      const pending = writer.write(values[i] as T);
      if (pending !== undefined) {
        this.writeAfter(pending, values.slice(i + 1));
        return;
      }
    }
  }

  /** Holds the task back until `pending` and the records queued behind it are written. */
  private writeAfter(pending: Promise<void>, rest: T[]): void {
    this.waiting = rest;
    this.ctx.task.backpressure(this.drain(pending));
  }

  private async drain(pending: Promise<void>): Promise<void> {
    try {
      await pending;
      const writer = this.writer as SinkWriter<T>;
      const waiting = this.waiting as T[];
      // Records queued meanwhile join the end of `waiting`: the loop takes them too. None is written once the sink closed (the job stopped).
      for (let i = 0; i < waiting.length && !this.closed; i++) await writer.write(waiting[i] as T);
    } catch (error) {
      this.ctx.task.fail(error, this.ctx.description);
    } finally {
      this.waiting = undefined;
    }
  }

  async endInput(): Promise<void> {
    await this.writer?.flush?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writer?.close?.();
  }
}
