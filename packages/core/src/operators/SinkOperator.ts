import type { Sink, SinkWriter } from '../api/Sink.js';
import type { OneInputStreamOperator, OperatorContext, OperatorSnapshot } from './StreamOperator.js';

/**
 * Hands records to a sink writer. A write that returns a promise holds back
 * the task's next record until it settles (backpressure); a rejected write
 * fails the job naming this sink.
 */
export class SinkOperator<T> implements OneInputStreamOperator<T> {
  private writer: SinkWriter<T> | undefined;
  private restoredState: unknown;

  constructor(
    private readonly ctx: OperatorContext<never>,
    private readonly sink: Sink<T>,
  ) {}

  initializeState(snapshot: OperatorSnapshot): void {
    this.restoredState = snapshot.operatorState;
  }

  async open(): Promise<void> {
    this.writer = await this.sink.createWriter({
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      metrics: this.ctx.metrics,
      restoredState: this.restoredState,
    });
    this.restoredState = undefined;
  }

  snapshotState(checkpointId: number): unknown {
    return this.writer?.snapshotState?.(checkpointId);
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.writer?.notifyCheckpointComplete?.(checkpointId);
  }

  processElement(value: T): void {
    // open() ran before any record: the writer exists.
    const pending = (this.writer as SinkWriter<T>).write(value);
    if (pending !== undefined) {
      this.ctx.task.backpressure(
        pending.catch((error: unknown) => {
          this.ctx.task.fail(error, this.ctx.description);
        }),
      );
    }
  }

  async endInput(): Promise<void> {
    await this.writer?.flush?.();
  }

  async close(): Promise<void> {
    await this.writer?.close?.();
  }
}
