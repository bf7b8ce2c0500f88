import { StreamExecutionEnvironment } from '@tributary/core';
import { ManualClock, collect, runJobToCompletion } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { AsyncDataStream, type AsyncBatchFunction, type ResultFuture } from '../../src/index.js';
import { range } from '../helpers.js';

// A completion made inside the call is handled once the call returned, whichever action made the
// call: a record chunk, a timer, end of input (run as a mail by the operator), a restore.
describe('a completion made during the call, in a job', () => {
  it.each([
    { mode: 'unordered', ordered: false },
    { mode: 'ordered', ordered: true },
  ])('$mode: a completion during the call is handled after the call returned, and nothing is lost', async ({ ordered }) => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, parallelism: 1 });
    const seen: number[] = [];
    const emittedDuringCall: boolean[] = [];
    const fn: AsyncBatchFunction<number, number> = {
      asyncInvokeBatch(inputs: readonly number[], future: ResultFuture<number>) {
        const outputs = inputs.map((x) => x * 10);
        future.complete(outputs);
        emittedDuringCall.push(outputs.some((o) => seen.includes(o)));
      },
    };
    const options = { maxBatchSize: 3, maxInFlightBatches: 2, capacity: 6 };
    const stream = ordered ? AsyncDataStream.orderedWaitBatch(env.fromCollection(range(1, 20)), fn, options) : AsyncDataStream.unorderedWaitBatch(env.fromCollection(range(1, 20)), fn, options);
    const out = collect(
      stream.map((x) => {
        seen.push(x);
        return x;
      }),
    );
    await runJobToCompletion(env.executeAsync(), clock);
    expect(out.sort((a, b) => a - b)).toEqual(range(1, 20).map((x) => x * 10));
    expect(emittedDuringCall).toEqual(Array(7).fill(false));
  });
});
