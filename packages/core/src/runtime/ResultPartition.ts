import type { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';
import type { InputChannel } from './InputChannel.js';

/**
 * Where one producer subtask sends its records along one edge (Flink's
 * `ResultPartitionWriter`): one subpartition per downstream subtask.
 */
export interface ResultPartition<T> {
  readonly subpartitions: number;
  /** Queues a chunk for subpartition `target`; false when it is full and the producer should wait on `writable(target)`. */
  emit(target: number, chunk: T[]): boolean;
  /** Resolves when subpartition `target` has room again. */
  writable(target: number): Promise<void>;
  /** Sends `barrier` to every subpartition, behind what was emitted before it. */
  broadcastBarrier(barrier: CheckpointBarrier): void;
  /** This producer has sent everything. */
  finish(): void;
}

/** A partition whose subpartitions are the downstream subtasks' channels in this heap; `slot` is this producer's queue in them. */
export class LocalResultPartition<T> implements ResultPartition<T> {
  constructor(
    private readonly channels: readonly InputChannel<T>[],
    private readonly slot: number,
  ) {}

  get subpartitions(): number {
    return this.channels.length;
  }

  emit(target: number, chunk: T[]): boolean {
    return (this.channels[target] as InputChannel<T>).push(this.slot, chunk);
  }

  writable(target: number): Promise<void> {
    return (this.channels[target] as InputChannel<T>).writable(this.slot);
  }

  broadcastBarrier(barrier: CheckpointBarrier): void {
    for (const channel of this.channels) channel.pushBarrier(this.slot, barrier);
  }

  finish(): void {
    for (const channel of this.channels) channel.endOfInput(this.slot);
  }
}
