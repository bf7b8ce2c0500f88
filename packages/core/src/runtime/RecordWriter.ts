import type { Collector } from '../api/functions.js';
import type { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';
import type { InputChannel } from './InputChannel.js';
import { subtaskForKey, type Key } from './keyGroups.js';
import { extractKey } from '../operators/StreamOperator.js';

/** How records of an edge are spread over the downstream subtasks. */
export type Partitioning =
  | { readonly kind: 'forward' }
  | { readonly kind: 'rebalance' }
  | { readonly kind: 'hash'; readonly selector: (value: unknown) => Key; readonly description: string };

/**
 * The network side of a task's output along one edge: picks the target
 * subtask of each record, collects records into chunks per target, and
 * pushes full chunks into the targets' channels. When a channel is full it
 * asks the task to hold back input until there is room.
 */
export class RecordWriter<T> implements Collector<T> {
  private readonly buffers: T[][];
  private roundRobin: number;

  constructor(
    private readonly channels: readonly InputChannel<T>[],
    private readonly partitioning: Partitioning,
    /** The upstream subtask index: forward edges pair subtask i with subtask i. */
    private readonly producerIndex: number,
    /** This writer's queue in the target channels (unique across all edges into them). */
    private readonly slot: number,
    private readonly chunkSize: number,
    private readonly backpressure: (until: Promise<unknown>) => void,
  ) {
    this.buffers = channels.map(() => []);
    this.roundRobin = producerIndex;
  }

  collect(value: T): void {
    const target = this.select(value);
    const buffer = this.buffers[target] as T[];
    buffer.push(value);
    if (buffer.length >= this.chunkSize) this.flushTarget(target);
  }

  /** Pushes every partly filled chunk (the task calls this whenever it goes idle). */
  flush(): void {
    for (let t = 0; t < this.buffers.length; t++) {
      if ((this.buffers[t] as T[]).length > 0) this.flushTarget(t);
    }
  }

  /** Flushes, then sends the barrier to every target: records before it belong to its checkpoint. */
  broadcastBarrier(barrier: CheckpointBarrier): void {
    this.flush();
    for (const channel of this.channels) channel.pushBarrier(this.slot, barrier);
  }

  /** Flushes and tells every target this producer is done. */
  end(): void {
    this.flush();
    for (const channel of this.channels) channel.endOfInput(this.slot);
  }

  private select(value: T): number {
    const n = this.channels.length;
    switch (this.partitioning.kind) {
      case 'forward':
        return n === 1 ? 0 : this.producerIndex;
      case 'rebalance':
        return this.roundRobin++ % n;
      case 'hash':
        return n === 1
          ? (extractKey(this.partitioning.selector, value, this.partitioning.description), 0)
          : subtaskForKey(extractKey(this.partitioning.selector, value, this.partitioning.description), n);
    }
  }

  private flushTarget(target: number): void {
    const channel = this.channels[target] as InputChannel<T>;
    const chunk = this.buffers[target] as T[];
    this.buffers[target] = [];
    if (!channel.push(this.slot, chunk)) this.backpressure(channel.writable(this.slot));
  }
}
