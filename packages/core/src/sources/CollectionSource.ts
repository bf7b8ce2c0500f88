import type { ReadResult, Source, SourceReader } from '../api/Source.js';

/**
 * Reads an array or any (possibly infinite) synchronous iterable.
 * Position: the number of records read, so a restore skips that many.
 * Non-parallel, like Flink's `fromCollection`.
 *
 * Replayable unless the iterable is itself an iterator (a generator object):
 * that one can be read only once, where an array, a Set or an object whose
 * `[Symbol.iterator]()` makes a new generator each time starts over.
 */
export class CollectionSource<T> implements Source<T, number> {
  readonly parallel = false;
  readonly replayable: boolean;
  constructor(private readonly items: Iterable<T>) {
    this.replayable = typeof (items as Partial<Iterator<T>>).next !== 'function';
  }

  // The readers are classes, not object literals of closures: the task's read loop then calls the
  // same method in every job, and the JIT keeps the loop's optimized code from one job to the next.
  createReader(): SourceReader<T, number> {
    return Array.isArray(this.items) ? new ArrayReader(this.items as readonly T[]) : new IteratorReader(this.items);
  }
}

/** Slices an array: one copy per chunk, so the caller may keep the chunk. */
class ArrayReader<T> implements SourceReader<T, number> {
  private offset = 0;
  constructor(private readonly array: readonly T[]) {}

  start(position: number | undefined): void {
    this.offset = position ?? 0;
  }

  read(max: number): ReadResult<T> {
    if (this.offset >= this.array.length) return null;
    const chunk = this.array.slice(this.offset, this.offset + max);
    this.offset += chunk.length;
    return chunk;
  }

  position(): number {
    return this.offset;
  }
}

/** Calls `next()` of the iterable's iterator directly (a generator re-yielding every item costs more). */
class IteratorReader<T> implements SourceReader<T, number> {
  private iterator: Iterator<T> | undefined;
  private finished = false;
  private offset = 0;
  constructor(private readonly items: Iterable<T>) {}

  start(position: number | undefined): void {
    const it = this.items[Symbol.iterator]();
    this.iterator = it;
    this.offset = position ?? 0;
    for (let skipped = 0; skipped < this.offset && !this.finished; skipped++) this.finished = it.next().done === true;
  }

  read(max: number): ReadResult<T> {
    if (this.finished) return null;
    const it = this.iterator as Iterator<T>;
    // Pre-sized: growing an array by push reallocates it several times per chunk.
    const chunk = new Array<T>(max);
    let n = 0;
    while (n < max) {
      const next = it.next();
      if (next.done === true) {
        this.finished = true;
        break;
      }
      chunk[n++] = next.value;
    }
    if (n === 0) return null;
    if (n < max) chunk.length = n;
    this.offset += n;
    return chunk;
  }

  position(): number {
    return this.offset;
  }

  close(): void {
    // Lets a generator run its finally blocks when the job stops early.
    if (!this.finished) this.iterator?.return?.();
  }
}
