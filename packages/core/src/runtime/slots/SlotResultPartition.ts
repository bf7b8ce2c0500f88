import type { CheckpointBarrier } from '../checkpoint/CheckpointBarrier.js';
import type { InputChannel } from '../InputChannel.js';
import type { ResultPartition } from '../ResultPartition.js';

/** One consumer subtask as seen by a producer: its channel in this slot, or a stream to another slot. */
export interface Subpartition {
  emit(chunk: unknown[]): boolean;
  writable(): Promise<void>;
  barrier(barrier: CheckpointBarrier): void;
  end(): void;
}

/** A consumer subtask in the producer's slot: its channel, as `LocalResultPartition` uses it. */
export class LocalSubpartition implements Subpartition {
  constructor(
    private readonly channel: InputChannel<unknown>,
    private readonly queue: number,
  ) {}

  emit(chunk: unknown[]): boolean {
    return this.channel.push(this.queue, chunk);
  }

  writable(): Promise<void> {
    return this.channel.writable(this.queue);
  }

  barrier(barrier: CheckpointBarrier): void {
    this.channel.pushBarrier(this.queue, barrier);
  }

  end(): void {
    this.channel.endOfInput(this.queue);
  }
}

/** The partition of a producer in a slot: consumer subtasks in this slot are fed directly, the others through the transport. */
export class SlotResultPartition implements ResultPartition<unknown> {
  constructor(private readonly targets: readonly Subpartition[]) {}

  get subpartitions(): number {
    return this.targets.length;
  }

  emit(target: number, chunk: unknown[]): boolean {
    return (this.targets[target] as Subpartition).emit(chunk);
  }

  writable(target: number): Promise<void> {
    return (this.targets[target] as Subpartition).writable();
  }

  broadcastBarrier(barrier: CheckpointBarrier): void {
    for (const target of this.targets) target.barrier(barrier);
  }

  finish(): void {
    for (const target of this.targets) target.end();
  }
}
