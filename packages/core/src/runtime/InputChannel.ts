/**
 * The bounded queue in front of one subtask: every upstream subtask that
 * feeds it pushes chunks of records, and it ends once each of them has sent
 * its end of input.
 *
 * `push` always accepts (a producer cannot stop in the middle of a
 * synchronous chain call) but reports whether the queue is now full; the
 * producer then waits on `writable()` before taking more input. So the
 * queue holds at most `capacity` chunks plus one per producer.
 */
export class InputChannel<T> {
  private readonly queue: T[][] = [];
  private producersLeft: number;
  private readonly readers: (() => void)[] = [];
  private readonly writers: (() => void)[] = [];
  /** Records currently queued (for memory-bound assertions and metrics). */
  bufferedRecords = 0;

  constructor(
    producers: number,
    /** Chunks the queue holds before producers must wait. */
    readonly capacity: number,
  ) {
    this.producersLeft = producers;
  }

  /** Queues a chunk; returns false when the queue is full and the producer should wait. */
  push(chunk: T[]): boolean {
    this.queue.push(chunk);
    this.bufferedRecords += chunk.length;
    this.readers.shift()?.();
    return this.queue.length < this.capacity;
  }

  /** Resolves when the queue has room again. */
  writable(): Promise<void> {
    if (this.queue.length < this.capacity) return Promise.resolve();
    return new Promise((resolve) => this.writers.push(resolve));
  }

  /** One producer finished. */
  endOfInput(): void {
    this.producersLeft--;
    if (this.producersLeft === 0) for (const wake of this.readers.splice(0)) wake();
  }

  /** The next chunk, or `null` when every producer has ended and the queue is drained. */
  poll(): T[] | null | undefined {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.bufferedRecords -= chunk.length;
      if (this.queue.length < this.capacity) for (const wake of this.writers.splice(0)) wake();
      return chunk;
    }
    return this.producersLeft === 0 ? null : undefined;
  }

  /** Resolves when `poll` has something to return (a chunk or the end). */
  readable(): Promise<void> {
    if (this.queue.length > 0 || this.producersLeft === 0) return Promise.resolve();
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** Wakes every waiter (the job is stopping). */
  release(): void {
    for (const wake of this.readers.splice(0)) wake();
    for (const wake of this.writers.splice(0)) wake();
  }
}
