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
    return {
      start: (position) => {
        iterator = items[Symbol.iterator]();
        for (offset = 0; offset < (position ?? 0); offset++) {
          if (iterator.next().done === true) break;
        }
      },
      read: (max): ReadResult<T> => {
        const chunk: T[] = [];
        const it = iterator as Iterator<T>;
        while (chunk.length < max) {
          const r = it.next();
          if (r.done === true) break;
          chunk.push(r.value);
        }
        offset += chunk.length;
        return chunk.length > 0 ? chunk : null;
      },
      position: () => offset,
      close: () => {
        iterator?.return?.();
      },
    };
  }
}
