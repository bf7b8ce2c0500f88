import type { ReadResult, Source, SourceReader } from '../api/Source.js';

/**
 * Reads an array or any (possibly infinite) synchronous iterable.
 * Position: the number of records read, so a restore skips that many.
 * Non-parallel, like Flink's `fromCollection`.
 */
export class CollectionSource<T> implements Source<T, number> {
  readonly parallel = false;
  constructor(private readonly items: Iterable<T>) {}

  createReader(): SourceReader<T, number> {
    const items = this.items;
    let offset = 0;
    if (Array.isArray(items)) {
      const array = items as readonly T[];
      return {
        start: (position) => {
          offset = position ?? 0;
        },
        read: (max): ReadResult<T> => {
          if (offset >= array.length) return null;
          const chunk = array.slice(offset, offset + max);
          offset += chunk.length;
          return chunk;
        },
        position: () => offset,
      };
    }
    let iterator: Iterator<T> | undefined;
    let finished = false;
    return {
      start: (position) => {
        const it = items[Symbol.iterator]();
        iterator = it;
        offset = position ?? 0;
        for (let skipped = 0; skipped < offset && !finished; skipped++) finished = it.next().done === true;
      },
      read: (max): ReadResult<T> => {
        if (finished) return null;
        const it = iterator as Iterator<T>;
        // Pre-sized: growing an array by push reallocates it several times per chunk.
        const chunk = new Array<T>(max);
        let n = 0;
        while (n < max) {
          const next = it.next();
          if (next.done === true) {
            finished = true;
            break;
          }
          chunk[n++] = next.value;
        }
        if (n === 0) return null;
        if (n < max) chunk.length = n;
        offset += n;
        return chunk;
      },
      position: () => offset,
      close: () => {
        // Lets a generator run its finally blocks when the job stops early.
        if (!finished) iterator?.return?.();
      },
    };
  }
}
