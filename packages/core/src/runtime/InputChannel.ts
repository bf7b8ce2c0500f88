import { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';

type Item<T> = T[] | CheckpointBarrier;

/**
 * The bounded input of one subtask: one FIFO queue per upstream subtask
 * (producer), read round-robin.
 *
 * Bounded per producer: `push` always accepts (a producer cannot stop in the
 * middle of a synchronous chain call) but reports whether that producer's
 * queue is now full; the producer then waits on `writable()` before taking
 * more input. So the channel holds at most `capacity + 1` chunks per producer.
 *
 * Barriers are aligned here: once a producer's queue shows a barrier, its
 * later chunks wait until every other producer has delivered the same barrier
 * (or ended); then `poll` returns the barrier once. Queues are per producer so
 * that held-back chunks of an aligned producer never use up the room another
 * producer needs to deliver its barrier.
 */
export class InputChannel<T> {
  private readonly queues: Item<T>[][];
  private readonly ended: boolean[];
  private producersLeft: number;
  private next = 0;
  private readers: (() => void)[] = [];
  private readonly writers: (() => void)[][];
  /** Records currently queued (for memory-bound assertions and metrics). */
  bufferedRecords = 0;

  constructor(
    producers: number,
    /** Chunks each producer may queue before it must wait. */
    readonly capacity: number,
  ) {
    this.queues = Array.from({ length: producers }, () => []);
    this.writers = Array.from({ length: producers }, () => []);
    this.ended = new Array<boolean>(producers).fill(false);
    this.producersLeft = producers;
  }

  /** Queues a chunk from `producer`; returns false when its queue is full and it should wait. */
  push(producer: number, chunk: T[]): boolean {
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
    this.producersLeft--;
    this.wakeReaders();
  }

  /**
   * The next chunk, an aligned barrier, `null` once every producer has ended
   * and everything was read, or `undefined` when there is nothing to read yet.
   */
  poll(): T[] | CheckpointBarrier | null | undefined {
    const n = this.queues.length;
    let barrier: CheckpointBarrier | undefined;
    let waitingForBarrier = false;
    for (let i = 0; i < n; i++) {
      const p = (this.next + i) % n;
      const queue = this.queues[p] as Item<T>[];
      const head = queue[0];
      if (head === undefined) {
        if (this.ended[p] !== true) waitingForBarrier = true;
        continue;
      }
      if (head instanceof CheckpointBarrier) {
        barrier = head;
        continue;
      }
      queue.shift();
      this.next = (p + 1) % n;
      this.bufferedRecords -= head.length;
      if (queue.length < this.capacity) this.wakeWriters(p);
      return head;
    }
    if (barrier !== undefined) {
      // Every producer shows a barrier at its head, or has ended: aligned.
      if (waitingForBarrier) return undefined;
      for (let p = 0; p < n; p++) {
        const queue = this.queues[p] as Item<T>[];
        if (queue[0] instanceof CheckpointBarrier) {
          queue.shift();
          this.wakeWriters(p);
        }
      }
      return barrier;
    }
    return this.producersLeft === 0 ? null : undefined;
  }

  /** Resolves when `poll` may have something new to return. */
  readable(): Promise<void> {
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** Wakes every waiter (the job is stopping). */
  release(): void {
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
