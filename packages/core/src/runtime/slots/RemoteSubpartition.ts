import type { MessagePort } from 'node:worker_threads';
import type { CheckpointBarrier } from '../checkpoint/CheckpointBarrier.js';
import type { Subpartition } from './SlotResultPartition.js';
import { classLostInClone, toColumns } from './columnChunks.js';
import { BARRIER, CHUNK, COLUMNS, END, OPEN } from './peerMessages.js';

/**
 * The producer's end of one queue in a consumer channel of another slot (Flink's
 * credit-based subpartition): it starts with `capacity` credits, spends one per chunk
 * and gets one back per chunk the consumer polled. Barriers and the end take no credit.
 */
export class RemoteSubpartition implements Subpartition {
  private credits: number;
  /** The most chunks ever outstanding: sent and not yet polled by the consumer. */
  peakOutstanding = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly port: MessagePort,
    /** This stream's number on `port`. */
    private readonly stream: number,
    private readonly capacity: number,
    /** Names the edge in the error for a record that cannot be cloned. */
    private readonly edge: string,
    /** Told once of a class whose instances cross as plain objects (checked on a chunk's first record until then). */
    private classLost?: (className: string) => void,
  ) {
    this.credits = capacity;
  }

  /** Announces the stream to the consumer slot, before anything else is sent on it. */
  open(vertex: string, subtask: number, queue: number): void {
    this.port.postMessage([OPEN, this.stream, vertex, subtask, queue]);
  }

  /** Sends a chunk; false when the credits are used up and the producer should wait on `writable()`. */
  emit(chunk: unknown[]): boolean {
    if (this.closed) return true;
    try {
      const columns = toColumns(chunk);
      if (columns === undefined && this.classLost !== undefined) {
        const lost = classLostInClone(chunk[0]);
        if (lost !== undefined) {
          this.classLost(lost);
          this.classLost = undefined;
        }
      }
      this.port.postMessage(columns === undefined ? [CHUNK, this.stream, chunk] : [COLUMNS, this.stream, columns[0], columns[1]]);
    } catch (error) {
      throw new Error(
        `records from ${this.edge} cannot cross threads: ${(error as Error).message}; ` +
          'records between slots must be structured-cloneable (class instances arrive as plain objects)',
        { cause: error },
      );
    }
    const credits = --this.credits;
    if (this.capacity - credits > this.peakOutstanding) this.peakOutstanding = this.capacity - credits;
    return credits > 0;
  }

  writable(): Promise<void> {
    if (this.credits > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  barrier(barrier: CheckpointBarrier): void {
    if (!this.closed) this.port.postMessage([BARRIER, this.stream, barrier.id]);
  }

  end(): void {
    if (!this.closed) this.port.postMessage([END, this.stream]);
  }

  /** The consumer polled `n` more chunks. */
  grant(n: number): void {
    this.credits += n;
    if (this.credits > 0) this.wake();
  }

  /** The job stops: a waiting producer wakes, nothing more is sent. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
