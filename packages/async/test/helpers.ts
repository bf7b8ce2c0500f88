import { FakeBatchService, KeyedOneInputOperatorHarness, ManualClock, OneInputOperatorHarness, type FakeBatchServiceOptions } from '@tributary/testing';
import type { Key, MetricValue } from '@tributary/core';
import { asyncBatchOperatorFactory, type BatchContext, type BatchFunction, type WaitBatchOptions } from '../src/index.js';

/** A batch function whose calls the test completes by hand, in any order. */
export class ControlledCalls<TIn, TOut> {
  readonly calls: {
    readonly inputs: TIn[];
    readonly ctx: BatchContext;
    readonly resolve: (outputs: readonly TOut[]) => void;
    readonly reject: (error: unknown) => void;
  }[] = [];

  readonly fn = (inputs: readonly TIn[], ctx: BatchContext): Promise<readonly TOut[]> =>
    new Promise((resolve, reject) => {
      this.calls.push({ inputs: [...inputs], ctx, resolve, reject });
    });

  call(i: number): ControlledCalls<TIn, TOut>['calls'][number] {
    const call = this.calls[i];
    if (call === undefined) throw new Error(`no call #${i}; calls: ${JSON.stringify(this.calls.map((c) => c.inputs))}`);
    return call;
  }

  batches(): TIn[][] {
    return this.calls.map((c) => c.inputs);
  }
}

/** A harness around the batch operator with `fn`, on a fresh ManualClock (or `clock`). */
export function batchHarness<TIn, TOut>(
  fn: BatchFunction<TIn, TOut | Error>,
  options: WaitBatchOptions<TIn, TOut>,
  clock = new ManualClock(0),
): OneInputOperatorHarness<TIn, TOut> {
  return new OneInputOperatorHarness<TIn, TOut>(asyncBatchOperatorFactory<TIn, TOut>(fn, options), { clock, name: 'embed' });
}

export function keyedBatchHarness<TIn, TOut, TKey extends Key>(
  fn: BatchFunction<TIn, TOut | Error>,
  options: WaitBatchOptions<TIn, TOut>,
  key: (value: TIn) => TKey,
  clock = new ManualClock(0),
): KeyedOneInputOperatorHarness<TIn, TOut, TKey> {
  return new KeyedOneInputOperatorHarness<TIn, TOut, TKey>(asyncBatchOperatorFactory<TIn, TOut>(fn, options), key, { clock, name: 'embed' });
}

/** A service that multiplies by 10, and a harness calling it with `options`. */
export function serviceHarness(
  options: WaitBatchOptions<number, number>,
  service: Partial<FakeBatchServiceOptions<number, number>> = {},
): { clock: ManualClock; service: FakeBatchService<number, number>; harness: OneInputOperatorHarness<number, number> } {
  const clock = new ManualClock(0);
  const fake = new FakeBatchService<number, number>({ clock, handler: (xs) => xs.map((x) => x * 10), ...service });
  const harness = batchHarness<number, number>((xs, { signal }) => fake.call(xs, { signal }), options, clock);
  return { clock, service: fake, harness };
}

/** A metric of the harness's operator by its short name (`batches`, `batchSize`, ...). */
export function metric(harness: OneInputOperatorHarness<unknown, unknown> | { metrics: { snapshot(): Record<string, MetricValue> } }, name: string): MetricValue {
  const snapshot = harness.metrics.snapshot();
  if (!(name in snapshot)) throw new Error(`no metric '${name}'; have ${Object.keys(snapshot).join(', ')}`);
  return snapshot[name] as MetricValue;
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
