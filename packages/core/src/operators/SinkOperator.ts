import type { Sink, SinkWriter } from '../api/Sink.js';
import type { OneInputStreamOperator, OperatorContext, OperatorListState, OperatorSnapshot } from './StreamOperator.js';

/**
 * Hands records to a sink writer. A write that returns a promise holds back
 * the task's next record until it settles (backpressure); a rejected write
 * fails the job naming this sink.
 */
export class SinkOperator<T> implements OneInputStreamOperator<T> {
  private writer: SinkWriter<T> | undefined;
  private restoredState: unknown;
  private restoredLists: { share: OperatorListState; union: OperatorListState } | undefined;

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
    this.writer = await this.sink.createWriter({
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      metrics: this.ctx.metrics,
      restoredState: this.restoredState,
      restoredListState: this.restoredLists?.share,
      restoredUnionListState: this.restoredLists?.union,
    });
    this.restoredState = undefined;
    this.restoredLists = undefined;
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
    // open() ran before any record: the writer exists.
    const pending = (this.writer as SinkWriter<T>).write(value);
    if (pending !== undefined) this.ctx.task.backpressure(this.writeAfter(pending, [], 0));
  }

  /**
   * Writes a chunk in order. When a write returns a promise, the rest of the
   * chunk waits here and is written one record after another, each after the
   * previous write settled: the same order and the same pacing as record by
   * record, and the task takes no new input meanwhile.
   */
  processChunk(values: readonly T[]): void {
    const writer = this.writer as SinkWriter<T>;
    for (let i = 0; i < values.length; i++) {
      const pending = writer.write(values[i] as T);
      if (pending !== undefined) {
        this.ctx.task.backpressure(this.writeAfter(pending, values, i + 1));
        return;
      }
    }
  }

  private async writeAfter(pending: Promise<void>, values: readonly T[], from: number): Promise<void> {
    try {
      await pending;
      const writer = this.writer as SinkWriter<T>;
      for (let i = from; i < values.length; i++) await writer.write(values[i] as T);
    } catch (error) {
      this.ctx.task.fail(error, this.ctx.description);
    }
  }

  async endInput(): Promise<void> {
    await this.writer?.flush?.();
  }

  async close(): Promise<void> {
    await this.writer?.close?.();
  }
}
