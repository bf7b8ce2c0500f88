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
    let chunks: Generator<T[], void, number> | undefined;
    return {
      start: (position) => {
        chunks = chunked(items, position ?? 0);
        offset = position ?? 0;
        chunks.next(); // run to the first yield, where it waits for a size
      },
      read: (max): ReadResult<T> => {
        const r = (chunks as Generator<T[], void, number>).next(max);
        if (r.done === true) return null;
        offset += r.value.length;
        return r.value;
      },
      position: () => offset,
      close: () => {
        chunks?.return();
      },
    };
  }
}

/**
 * Yields the items of an iterable in arrays of the size asked by `next(size)`,
 * after skipping `skip` items. A `for...of` over the user's iterable here is
 * markedly faster than calling its `next()` by hand for every item.
 */
function* chunked<T>(items: Iterable<T>, skip: number): Generator<T[], void, number> {
  let size: number = yield [];
  // Pre-sized: growing an array by push reallocates it several times per chunk.
  let chunk = new Array<T>(size);
  let n = 0;
  let skipped = 0;
  for (const item of items) {
    if (skipped < skip) {
      skipped++;
      continue;
    }
    chunk[n++] = item;
    if (n >= size) {
      size = yield chunk;
      chunk = new Array<T>(size);
      n = 0;
    }
  }
  if (n > 0) {
    chunk.length = n;
    yield chunk;
  }
}
