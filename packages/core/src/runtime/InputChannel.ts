import { BarrierAligner } from './BarrierAligner.js';
import { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';
import type { InputGate } from './InputGate.js';

type Item<T> = T[] | CheckpointBarrier;

/** Told when a chunk of one producer's queue was polled: a producer in another thread gets its credit back. */
export interface PollListener {
  chunkPolled(): void;
}

/**
 * The bounded input of one subtask in this heap: one FIFO queue per upstream
 * subtask (producer), read round-robin.
 *
 * Bounded per producer: `push` always accepts (a producer cannot stop in the
 * middle of a synchronous chain call) but reports whether that producer's
 * queue is now full; the producer then waits on `writable()` before taking
 * more input. So the channel holds at most `capacity + 1` chunks per producer.
 *
 * Barriers are aligned by a {@link BarrierAligner}: a producer whose barrier
 * was read is not read again until the barrier is released. Queues are per
 * producer so that held-back chunks of an aligned producer never use up the
 * room another producer needs to deliver its barrier.
 */
export class InputChannel<T> implements InputGate<T> {
  private readonly queues: Item<T>[][];
  private readonly ended: boolean[];
  /** Producers whose end the aligner was told of: they ended and their queue ran empty. */
  private readonly drained: boolean[];
  private undrained: number;
  private next = 0;
  private readers: (() => void)[] = [];
  private readonly writers: (() => void)[][];
  private readonly aligner: BarrierAligner;
  private readonly pollListeners: (PollListener | undefined)[];
  /** Records currently queued (for memory-bound assertions and metrics). */
  bufferedRecords = 0;
  private released = false;

  constructor(
    producers: number,
    /** Chunks each producer may queue before it must wait. */
    readonly capacity: number,
  ) {
    this.queues = Array.from({ length: producers }, () => []);
    this.writers = Array.from({ length: producers }, () => []);
    this.ended = new Array<boolean>(producers).fill(false);
    this.drained = new Array<boolean>(producers).fill(false);
    this.undrained = producers;
    this.aligner = new BarrierAligner(producers);
    this.pollListeners = new Array<PollListener | undefined>(producers).fill(undefined);
  }

  /** Tells `listener` of every chunk polled from `producer`'s queue (a remote producer waits on credits, not on `writable`). */
  onChunkPolled(producer: number, listener: PollListener): void {
    this.pollListeners[producer] = listener;
  }

  /** Queues a chunk from `producer`; returns false when its queue is full and it should wait. */
  push(producer: number, chunk: T[]): boolean {
    // The job stopped: nothing reads any more, and what is queued was dropped.
    if (this.released) return true;
    const queue = this.queues[producer] as Item<T>[];
    queue.push(chunk);
    this.bufferedRecords += chunk.length;
    this.wakeReaders();
    return queue.length < this.capacity;
  }

  /** Queues a barrier from `producer`. */
  pushBarrier(producer: number, barrier: CheckpointBarrier): void {
    (this.queues[producer] as Item<T>[]).push(barrier);
    this.wakeReaders();
  }

  /** Resolves when `producer`'s queue has room again. */
  writable(producer: number): Promise<void> {
    if ((this.queues[producer] as Item<T>[]).length < this.capacity) return Promise.resolve();
    return new Promise((resolve) => (this.writers[producer] as (() => void)[]).push(resolve));
  }

  /** `producer` has sent everything. */
  endOfInput(producer: number): void {
    if (this.ended[producer] === true) return;
    this.ended[producer] = true;
    this.wakeReaders();
  }

  poll(): T[] | CheckpointBarrier | null | undefined {
    const n = this.queues.length;
    for (let i = 0; i < n; i++) {
      const p = (this.next + i) % n;
      if (this.aligner.isBlocked(p)) continue;
      const queue = this.queues[p] as Item<T>[];
      const head = queue.shift();
      if (head === undefined) {
        if (this.ended[p] !== true || this.drained[p] === true) continue;
        this.drained[p] = true;
        this.undrained--;
        const aligned = this.aligner.onEndOfInput(p);
        if (aligned !== undefined) return aligned;
        continue;
      }
      if (queue.length < this.capacity) this.wakeWriters(p);
      if (head instanceof CheckpointBarrier) {
        const aligned = this.aligner.onBarrier(p, head);
        if (aligned !== undefined) return aligned;
        // A newer barrier may have unblocked inputs this scan passed (see BarrierAligner): scan them again.
        i = -1;
        continue;
      }
      this.next = (p + 1) % n;
      this.bufferedRecords -= head.length;
      this.pollListeners[p]?.chunkPolled();
      return head;
    }
    return this.undrained === 0 ? null : undefined;
  }

  get alignmentMs(): number {
    return this.aligner.alignmentMs;
  }

  readable(): Promise<void> {
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** The job is stopping: drops what is queued (the queue gauge reads 0, and a restart does not keep it alive) and wakes every waiter. */
  release(): void {
    this.released = true;
    for (const queue of this.queues) queue.length = 0;
    this.bufferedRecords = 0;
    this.wakeReaders();
    for (let p = 0; p < this.writers.length; p++) this.wakeWriters(p);
  }

  private wakeReaders(): void {
    if (this.readers.length === 0) return;
    const readers = this.readers;
    this.readers = [];
    for (const wake of readers) wake();
  }

  private wakeWriters(producer: number): void {
    for (const wake of (this.writers[producer] as (() => void)[]).splice(0)) wake();
  }
}
