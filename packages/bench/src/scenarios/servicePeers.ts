import { Effect, Stream } from 'effect';
import { bufferTime, filter, from, mergeMap } from 'rxjs';
import type { Checksum } from '../harness/model.js';

/**
 * The peers of S1 and S2, written once over any source, batch function and
 * sink, so both scenarios run exactly the same pipelines.
 */
export interface BatchPipeline<TIn, TOut> {
  readonly source: () => Iterable<TIn>;
  readonly call: (batch: readonly TIn[], signal?: AbortSignal) => Promise<readonly TOut[]>;
  readonly deliverAll: (outputs: readonly TOut[]) => void;
  readonly result: () => Checksum;
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  readonly concurrency: number;
}

/** RxJS 7: `bufferTime(delay, null, size)` + `mergeMap(call, concurrency)`; `bufferTime` emits `[]` when idle, so those are dropped. */
export function runRxjs<TIn, TOut>(p: BatchPipeline<TIn, TOut>): Promise<Checksum> {
  return new Promise<Checksum>((resolve, reject) => {
    from(p.source())
      .pipe(
        bufferTime(p.maxBatchDelayMs, null, p.batchSize),
        filter((batch) => batch.length > 0),
        mergeMap((batch) => p.call(batch), p.concurrency),
      )
      .subscribe({ next: p.deliverAll, error: reject, complete: () => resolve(p.result()) });
  });
}

export const RXJS_NOTE = '`from(source).pipe(bufferTime(delay, null, size), filter(b => b.length > 0), mergeMap(call, concurrency))`';

/** Effect 4: `Stream.groupedWithin(size, delay)` + `Stream.mapEffect(call, { concurrency, unordered: true })`. */
export async function runEffect<TIn, TOut>(p: BatchPipeline<TIn, TOut>): Promise<Checksum> {
  await Effect.runPromise(
    Stream.fromIterable(p.source()).pipe(
      Stream.groupedWithin(p.batchSize, `${p.maxBatchDelayMs} millis`),
      Stream.mapEffect((batch) => Effect.promise((signal) => p.call(batch, signal)), { concurrency: p.concurrency, unordered: true }),
      Stream.runForEach((outputs) =>
        Effect.sync(() => {
          p.deliverAll(outputs);
        }),
      ),
    ),
  );
  return p.result();
}

export const EFFECT_NOTE =
  '`Stream.fromIterable(source).pipe(Stream.groupedWithin(size, delay), Stream.mapEffect(call, { concurrency, unordered: true }), Stream.runForEach(sink))`';

