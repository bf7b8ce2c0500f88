import { describeValue, OptionChecker } from '../api/OptionChecker.js';
import type { ReadResult, Source, SourceReader, SourceReaderContext } from '../api/Source.js';
import { yieldToEventLoop } from '../runtime/eventLoop.js';
import { raceAbort } from '../runtime/raceAbort.js';

/**
 * Reads an async iterable (a generator, a stream, a paginated API).
 *
 * Each `read` takes the records the iterator yields within one turn of the
 * event loop, so a fast generator is read in chunks and a slow one still
 * delivers each record as soon as it arrives. Position: records read.
 *
 * Given a function that returns the iterable, each reader calls it for a
 * fresh one and skips what a checkpoint covers, so the source is replayable
 * (restarts and restores work): by reading and dropping those records (the
 * function is called with 0), or, when the function is `seekable`, by calling
 * it with their count (`from`), where its iterable must start: one that starts
 * anywhere else emits records again or skips them. Given the iterable itself,
 * it can be read only once: the source is not replayable.
 *
 * A drain (`JobClient.drain()`) does not wait for an iterable with no data:
 * a read waiting for its first record returns at once when the function form
 * is read (what the iterable yields later is read again by a restore, which
 * starts at the position), and for the iterable itself the reader calls its
 * `return()` and waits on, so that no record it yields is lost: an iterator
 * that ends its pending `next()` on `return()` (`events.on`, most hand-written
 * ones) drains at once, an async generator only once its pending await settles.
 */
export class AsyncIterableSource<T> implements Source<T, number> {
  readonly parallel = false;
  readonly replayable: boolean;

  constructor(
    private readonly input: AsyncIterable<T> | ((from: number) => AsyncIterable<T>),
    /** The function's iterable starts at record `from`: nothing is read to skip the records a checkpoint covers. */
    private readonly seekable = false,
  ) {
    this.replayable = typeof input === 'function';
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, number> {
    const input = this.input;
    let iterator: AsyncIterator<T> | undefined;
    let offset = 0;
    let pending: Promise<IteratorResult<T>> | undefined;
    let done = false;
    const replayable = this.replayable;
    if (!replayable) {
      // One-shot: a record yielded after a drain would have nowhere to go, so the iterable is asked to end instead.
      ctx.drainSignal.addEventListener('abort', () => void iterator?.return?.()?.catch(() => undefined), { once: true });
    }
    return {
      start: async (position) => {
        const from = position ?? 0;
        // Only a seekable function is given the count: any other's iterable starts at the beginning, and the records
        // the checkpoint covers are skipped below (given the count, its iterable would start past them, and they and as
        // many more would be lost).
        const iterable = typeof input === 'function' ? input(this.seekable ? from : 0) : input;
        // The function is called only now, in the reader: its result cannot be checked when the job is built.
        if (typeof (iterable as Partial<AsyncIterable<T>> | null | undefined)?.[Symbol.asyncIterator] !== 'function') {
          const got = typeof (iterable as Partial<PromiseLike<unknown>> | null | undefined)?.then === 'function'
            ? 'a Promise (an async function returns one; an async generator function, `async function*`, returns the iterable)'
            : describeValue(iterable);
          new OptionChecker('fromAsyncIterable()').fail(`the function must return an AsyncIterable, got ${got}`);
        }
        const it = iterable[Symbol.asyncIterator]();
        iterator = it;
        // A replay skips what the checkpoint covers: a seekable function's iterable starts there, any other's at the
        // beginning, which costs a read of every record before (a run of a day at 3,000 a second: minutes a restart).
        if (this.seekable) offset = from;
        while (offset < from && !ctx.signal.aborted) {
          const next = it.next();
          const r = await raceAbort(next, ctx.drainSignal);
          if (r === undefined) {
            // Drained while skipping: nothing was read, so the position stays the restored one.
            pending = next;
            offset = from;
            done = true;
            break;
          }
          if (r.done === true) {
            done = true;
            break;
          }
          offset++;
        }
      },
      read: async (max): Promise<ReadResult<T>> => {
        if (done) return null;
        const it = iterator as AsyncIterator<T>;
        const chunk: T[] = [];
        let turnOver = false;
        const endOfTurn = yieldToEventLoop().then(() => {
          turnOver = true;
          return 'turn' as const;
        });
        while (chunk.length < max && !ctx.signal.aborted) {
          pending ??= it.next();
          // The first record of a chunk is awaited (until a drain, when a replay can read it again); after that, stop at
          // the end of the turn.
          const r = chunk.length !== 0 ? await Promise.race([pending, endOfTurn]) : replayable ? await raceAbort(pending, ctx.drainSignal) : await pending;
          if (r === undefined || r === 'turn') break;
          pending = undefined;
          if (r.done === true) {
            done = true;
            break;
          }
          chunk.push(r.value);
          if (turnOver) break;
        }
        offset += chunk.length;
        return chunk.length === 0 && done ? null : chunk;
      },
      position: () => offset,
      close: async () => {
        // An async generator handles return() only after its pending await settles, which
        // may be never (a cancelled job whose generator waits for data): don't wait for it then.
        const returned = iterator?.return?.();
        if (pending === undefined) await returned;
        else returned?.catch(() => undefined);
      },
    };
  }
}
