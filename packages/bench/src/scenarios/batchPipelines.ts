import { AsyncDataStream } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { Effect, Stream } from 'effect';
import { bufferTime, filter, from, mergeMap } from 'rxjs';
import type { Checksum } from '../harness/model.js';

/**
 * The contenders of S1 and S2 (Tributary, its peers, S1's hand-written loop), written once over
 * any source, batch function and sink, so both scenarios run exactly the
 * same pipelines.
 */
export interface BatchPipeline<TIn, TOut> {
  readonly source: () => Iterable<TIn>;
  /** The service; `ctx.signal` aborts the call (Tributary's and Effect's cancellation reach it, RxJS passes none). */
  readonly call: (batch: readonly TIn[], ctx?: { readonly signal?: AbortSignal }) => Promise<readonly TOut[]>;
  /** The sink, one output at a time (Tributary's `addSink`). */
  readonly deliver: (output: TOut) => void;
  /** The sink, a call's outputs at once (the peers emit arrays). */
  readonly deliverAll: (outputs: readonly TOut[]) => void;
  readonly result: () => Checksum;
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  readonly concurrency: number;
}

/**
 * Tributary's capacity for a batch size: twice the records of the batches in
 * flight, so the next full batches are ready when a call returns. It is the
 * operator's default (`2 * maxBatchSize * maxInFlightBatches`), written out
 * so the notes and the memory run can state it.
 */
export function batchCapacity(batchSize: number, concurrency: number): number {
  return 2 * batchSize * concurrency;
}

/** Tributary: `unorderedWaitBatch` (or `orderedWaitBatch`) over `fromCollection`, parallelism 1. */
export async function runTributary<TIn, TOut>(p: BatchPipeline<TIn, TOut>, ordered: boolean, jobName: string): Promise<Checksum> {
  const env = StreamExecutionEnvironment.create({ parallelism: 1 });
  const input = env.fromCollection(p.source());
  const options = {
    maxBatchSize: p.batchSize,
    maxBatchDelay: p.maxBatchDelayMs,
    maxInFlightBatches: p.concurrency,
    capacity: batchCapacity(p.batchSize, p.concurrency),
  };
  const out = ordered ? AsyncDataStream.orderedWaitBatch(input, p.call, options) : AsyncDataStream.unorderedWaitBatch(input, p.call, options);
  out.addSink(p.deliver);
  await env.execute(jobName);
  return p.result();
}

/**
 * The hand-written loop: `concurrency` async workers share one iterator over
 * the source; each takes the next `batchSize` records, awaits the call and
 * delivers, with nothing in between (no delay timer). Against a service, the
 * most it allows on this machine.
 */
export async function runHandLoop<TIn, TOut>(p: BatchPipeline<TIn, TOut>): Promise<Checksum> {
  const records = p.source()[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (;;) {
      const batch: TIn[] = [];
      for (let next = records.next(); next.done !== true; next = records.next()) {
        if (batch.push(next.value) === p.batchSize) break;
      }
      if (batch.length === 0) return;
      p.deliverAll(await p.call(batch));
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, worker));
  return p.result();
}

export const HAND_LOOP_NOTE = '`concurrency` async workers over one iterator: each takes the next `size` records, `await call(batch)`, delivers; no delay timer';

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
      Stream.mapEffect((batch) => Effect.promise((signal) => p.call(batch, { signal })), { concurrency: p.concurrency, unordered: true }),
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
