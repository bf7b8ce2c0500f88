import type { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';
import type { ResultPartition } from './ResultPartition.js';
import type { ChunkCollector } from './ChainOutputs.js';
import { subtaskForKey, type Key } from './keyGroups.js';
import { extractKey, type TaskHooks } from '../operators/StreamOperator.js';

/** How records of an edge are spread over the downstream subtasks. */
export type Partitioning =
  | { readonly kind: 'forward' }
  | { readonly kind: 'rebalance' }
  | { readonly kind: 'hash'; readonly selector: (value: unknown) => Key; readonly description: string };

/**
 * The network side of a task's output along one edge: picks the target
 * subtask of each record, collects records into chunks per target, and
 * emits full chunks to the partition's subpartitions. When one is full it
 * asks the task to hold back input until there is room.
 */
export class RecordWriter<T> implements ChunkCollector<T> {
  /** One chunk per target, pre-sized; `fill[t]` records are in use. */
  private readonly buffers: T[][];
  private readonly fill: number[];
  private readonly select: (value: T) => number;
  /** The one subtask every record goes to, or -1 when it depends on the record (or a key must be checked). */
  private readonly fixedTarget: number;
  private ended = false;

  constructor(
    private readonly partition: ResultPartition<T>,
    partitioning: Partitioning,
    /** The upstream subtask index: forward edges pair subtask i with subtask i. */
    producerIndex: number,
    private readonly chunkSize: number,
    /** The producing task's hooks: a full channel holds back its input. */
    private readonly hooks: Pick<TaskHooks, 'backpressure'>,
  ) {
    const targets = partition.subpartitions;
    this.buffers = Array.from({ length: targets }, () => new Array<T>(chunkSize));
    this.fill = new Array<number>(targets).fill(0);
    const fixed = fixedTarget(partitioning, targets, producerIndex);
    this.fixedTarget = fixed;
    // A forward edge always has a fixed target; the kind test only tells the compiler so.
    this.select = fixed >= 0 || partitioning.kind === 'forward' ? () => fixed : selector(partitioning, targets, producerIndex);
  }

  collect(value: T): void {
    const target = this.select(value);
    const n = (this.fill[target] as number) + 1;
    (this.buffers[target] as T[])[n - 1] = value;
    this.fill[target] = n;
    if (n === this.chunkSize) this.flushTarget(target);
  }

  collectChunk(values: readonly T[]): void {
    const target = this.fixedTarget;
    if (target < 0) {
      for (let i = 0; i < values.length; i++) this.collect(values[i] as T);
      return;
    }
    // One target: copy runs of records instead of routing each one (the hop of every
    // forward edge between tasks).
    const size = this.chunkSize;
    let i = 0;
    while (i < values.length) {
      const fill = this.fill[target] as number;
      if (fill === 0 && values.length - i >= size) {
        // A copy, not the caller's array: the caller may reuse it, the partition keeps it.
        this.send(target, values.slice(i, i + size));
        i += size;
        continue;
      }
      const n = Math.min(size - fill, values.length - i);
      const buffer = this.buffers[target] as T[];
      for (let k = 0; k < n; k++) buffer[fill + k] = values[i + k] as T;
      this.fill[target] = fill + n;
      i += n;
      if (fill + n === size) this.flushTarget(target);
    }
  }

  /** Pushes every partly filled chunk (the task calls this whenever it gives up the thread: idle, waiting, or at the end of a turn). */
  flush(): void {
    for (let t = 0; t < this.buffers.length; t++) {
      if (this.fill[t] !== 0) this.flushTarget(t);
    }
  }

  /** Flushes, then sends the barrier to every target: records before it belong to its checkpoint. */
  broadcastBarrier(barrier: CheckpointBarrier): void {
    // A barrier after the end would be taken by no alignment but the next one, which it would release early.
    if (this.ended) throw new Error(`checkpoint ${barrier.id}: a barrier after the end of this task's output`);
    this.flush();
    this.partition.broadcastBarrier(barrier);
  }

  /** Flushes and tells every target this producer is done. */
  end(): void {
    this.ended = true;
    this.flush();
    this.partition.finish();
  }

  private flushTarget(target: number): void {
    const n = this.fill[target] as number;
    const buffer = this.buffers[target] as T[];
    const chunk = n === this.chunkSize ? buffer : buffer.slice(0, n);
    if (n === this.chunkSize) this.buffers[target] = new Array<T>(this.chunkSize);
    this.fill[target] = 0;
    this.send(target, chunk);
  }

  private send(target: number, chunk: T[]): void {
    if (!this.partition.emit(target, chunk)) this.hooks.backpressure(this.partition.writable(target));
  }
}

/** The subtask all records of an edge go to, when there is only one choice and no key to check; else -1. */
function fixedTarget(partitioning: Partitioning, targets: number, producerIndex: number): number {
  if (partitioning.kind === 'hash') return -1;
  if (targets === 1) return 0;
  return partitioning.kind === 'forward' ? producerIndex : -1;
}

/** Picks the target subtask of each record on an edge without a fixed target. */
function selector<T>(partitioning: Exclude<Partitioning, { kind: 'forward' }>, targets: number, producerIndex: number): (value: T) => number {
  switch (partitioning.kind) {
    case 'rebalance': {
      let next = producerIndex;
      return () => next++ % targets;
    }
    case 'hash': {
      const { selector: key, description } = partitioning;
      return targets === 1
        ? (value) => (extractKey(key, value, description), 0)
        : (value) => subtaskForKey(extractKey(key, value, description), targets);
    }
  }
}
