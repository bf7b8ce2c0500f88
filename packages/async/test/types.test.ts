import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidJobError, OutputTag, StreamExecutionEnvironment, type DataStream, type OperatorFactory } from '@tributary/core';
import { AsyncDataStream, asyncBatchOperatorFactory, asyncWaitOperatorFactory, RetryStrategies, type AsyncFunction, type DeadLetter } from '../src/index.js';

// Checked by `tsc --noEmit` (the test tsconfig includes this file); the runtime part only builds streams.
/** Stands for a record of `stream` (comparing whole stream types trips over their generic methods). */
const recordOf = <T>(_stream: DataStream<T>): T => undefined as T;
describe('types', () => {
  const env = StreamExecutionEnvironment.create();
  const texts = env.fromElements('a', 'bb');

  it('a map after unorderedWaitBatch sees TOut', () => {
    const lengths = AsyncDataStream.unorderedWaitBatch(texts, async (batch) => batch.map((t) => t.length), { maxBatchSize: 2 });
    expectTypeOf(recordOf(lengths)).toEqualTypeOf<number>();
    const doubled = lengths.map((n) => {
      expectTypeOf(n).toEqualTypeOf<number>();
      return n * 2;
    });
    expectTypeOf(recordOf(doubled)).toEqualTypeOf<number>();
  });

  it('per-item mode strips Error from the output type', () => {
    const out = AsyncDataStream.orderedWaitBatch(texts, async (batch) => batch.map((t) => (t === '' ? new Error('empty') : t.length)), {
      maxBatchSize: 2,
      resultMode: 'per-item',
    });
    expectTypeOf(recordOf(out)).toEqualTypeOf<number>();
  });

  it('options are typed by the stream and the function', () => {
    const dead = new OutputTag<DeadLetter<string>>('dead');
    const out = AsyncDataStream.waitBatch(texts, async (batch) => batch.map((t) => ({ text: t })), {
      maxBatchSize: 2,
      ordering: 'key-ordered',
      resultMode: 'per-item',
      orderKey: (t) => t.length,
      weigher: (t) => t.length,
      maxBatchWeight: 10,
      onFailure: { fallback: (t) => [{ text: `failed: ${t}` }] },
      retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 10, retryOnResult: (outs) => outs.length === 0 }),
    });
    expectTypeOf(recordOf(out)).toEqualTypeOf<{ text: string }>();
    AsyncDataStream.unorderedWaitBatch(texts, async (batch) => batch, { maxBatchSize: 2, onFailure: { deadLetter: dead } });
    expectTypeOf(recordOf(out.getSideOutput(dead))).toEqualTypeOf<DeadLetter<string>>();

    // The same mistakes are caught at build time when types are bypassed (see validation.test.ts).
    expect(() =>
      // @ts-expect-error maxBatchSize is required
      AsyncDataStream.unorderedWaitBatch(texts, async (batch) => batch, {}),
    ).toThrow(InvalidJobError);
    // @ts-expect-error the fallback must return the output type
    AsyncDataStream.unorderedWaitBatch(texts, async (batch) => batch.map((t) => t.length), { maxBatchSize: 2, onFailure: { fallback: () => ['x'] } });
    expect(() =>
      // @ts-expect-error ordering is fixed by the method's name
      AsyncDataStream.unorderedWaitBatch(texts, async (batch) => batch, { maxBatchSize: 2, ordering: 'ordered' }),
    ).toThrow(InvalidJobError);
  });

  it('the operator factories infer their types from the function alone, whatever the options hold', () => {
    const call = (xs: readonly string[], _ctx: { signal: AbortSignal }): Promise<number[]> => Promise.resolve(xs.map((x) => x.length));
    const factory = asyncBatchOperatorFactory((xs: readonly string[], { signal }) => call(xs, { signal }), {
      maxBatchSize: 2,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 5 }),
    });
    expectTypeOf(factory).toEqualTypeOf<OperatorFactory<string, number>>();
    const perItem = asyncBatchOperatorFactory(async (xs: readonly string[], { signal }) => (await call(xs, { signal })).map((n) => (n > 0 ? n : new Error('empty'))), {
      maxBatchSize: 2,
      resultMode: 'per-item',
      retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 5 }),
    });
    expectTypeOf(perItem).toEqualTypeOf<OperatorFactory<string, number>>();
    const perRecord = asyncWaitOperatorFactory(async (x: string, { signal }) => (await call([x], { signal }))[0] ?? 0, {
      retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 5 }),
    });
    expectTypeOf(perRecord).toEqualTypeOf<OperatorFactory<string, number>>();
  });

  it('per-record forms infer the output of a plain function', () => {
    const out = AsyncDataStream.unorderedWait(texts, async (t, { signal }) => (signal.aborted ? 0 : t.length), { timeout: 100 });
    expectTypeOf(recordOf(out)).toEqualTypeOf<number>();
    // An object function's output type cannot be read from its body: type the object.
    const twice: AsyncFunction<string, string> = {
      asyncInvoke(t, future) {
        future.complete([t, t]);
      },
    };
    const ordered = AsyncDataStream.orderedWait(texts, twice);
    expectTypeOf(recordOf(ordered)).toEqualTypeOf<string>();
  });
});
