import { describe, expect, it } from 'vitest';
import { FakeBatchService, ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import { OutputTag } from '@tributary/core';
import { AsyncTimeoutError, RetryStrategies, asyncWaitOperatorFactory, type AsyncFunction, type AsyncWaitOptions, type DeadLetter, type AsyncRecordFunction } from '../src/index.js';
import { metric, range } from './helpers.js';

function harness<TIn, TOut>(
  fn: AsyncRecordFunction<TIn, TOut>,
  options: AsyncWaitOptions<TIn, TOut> & { ordering?: 'ordered' | 'unordered' },
  clock = new ManualClock(0),
): OneInputOperatorHarness<TIn, TOut> {
  return new OneInputOperatorHarness<TIn, TOut>(asyncWaitOperatorFactory(fn, options), { clock, name: 'lookup' });
}

/** Answers record x after x ms. */
function slowLookup(clock: ManualClock) {
  return (x: number): Promise<string> => new Promise((resolve) => clock.schedule(clock.now() + x, () => resolve(`v${x}`)));
}

describe('per-record async I/O (Flink AsyncWaitOperator)', () => {
  it('unorderedWait emits results as they complete, one call per record', async () => {
    const clock = new ManualClock(0);
    const h = harness(slowLookup(clock), {}, clock);
    await h.open();
    h.processElements([30, 10, 20]);
    await h.endInput();
    expect(h.getTimedOutput()).toEqual([
      { time: 10, value: 'v10' },
      { time: 20, value: 'v20' },
      { time: 30, value: 'v30' },
    ]);
    expect(metric(h, 'batches')).toBe(3);
  });

  it('orderedWait emits in input order', async () => {
    const clock = new ManualClock(0);
    const h = harness(slowLookup(clock), { ordering: 'ordered' }, clock);
    await h.open();
    h.processElements([30, 10, 20]);
    await h.endInput();
    expect(h.getTimedOutput()).toEqual([
      { time: 30, value: 'v30' },
      { time: 30, value: 'v10' },
      { time: 30, value: 'v20' },
    ]);
  });

  it('capacity bounds the records in flight and backpressures', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 10, perItemMs: 0 } });
    const h = harness<number, number>(async (x, { signal }) => (await service.call([x], { signal }))[0] as number, { capacity: 3 }, clock);
    await h.open();
    h.processElements([1, 2]);
    expect(h.backpressured).toBe(false);
    h.processElement(3);
    expect(h.backpressured).toBe(true);
    await h.feed(range(4, 20));
    await h.endInput();
    expect(service.maxConcurrency).toBe(3);
    expect(h.getOutput().sort((a, b) => a - b)).toEqual(range(1, 20));
  });

  it('an object function completes with zero or more outputs', async () => {
    const fn: AsyncFunction<string, string> = {
      asyncInvoke(input, future) {
        future.complete(input.split(' ').filter((w) => w !== ''));
      },
    };
    const h = harness(fn, { ordering: 'ordered' });
    await h.open();
    h.processElements(['a b', '', 'c']);
    await h.endInput();
    expect(h.getOutput()).toEqual(['a', 'b', 'c']);
  });

  it("the default timeout() fails the job (Flink's TimeoutException)", async () => {
    const h = harness<number, number>(() => new Promise<number>(() => undefined), { timeout: 100 });
    await h.open();
    h.processElement(1);
    await h.setProcessingTime(100);
    expect((h.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: deadline of 100 ms for all attempts exceeded');
  });

  it('an overridden timeout() emits a fallback, and the timeout covers all attempts', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 30, perItemMs: 0 }, failCalls: [1, 2, 3, 4, 5] });
    const fn: AsyncFunction<number, string> = {
      async asyncInvoke(input, future, { signal }) {
        future.complete((await service.call([input], { signal })).map(String));
      },
      timeout(input, future) {
        future.complete([`timeout ${input}`]);
      },
    };
    const h = harness(fn, { timeout: 100, retry: RetryStrategies.fixedDelay({ maxAttempts: 10, delayMs: 5 }) }, clock);
    await h.open();
    h.processElement(7);
    await h.setProcessingTime(1_000);
    // Attempts at 0, 35 and 70; the third is cut at 100 by the timeout.
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'error'],
      [35, 'error'],
      [70, 'aborted'],
    ]);
    expect(h.getTimedOutput()).toEqual([{ time: 100, value: 'timeout 7' }]);
  });

  it('a timeout() hook that never completes fails the record after the timeout again, naming the hook', async () => {
    const fn: AsyncFunction<number, number> = {
      asyncInvoke() {},
      timeout() {}, // never completes its result future
    };
    const h = harness(fn, { timeout: 100 });
    await h.open();
    h.processElement(1);
    await h.setProcessingTime(199);
    expect(h.failure).toBeUndefined();
    await h.setProcessingTime(200);
    expect((h.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: the timeout() hook did not complete within 100 ms');
    const cause = (h.failure as Error).cause;
    expect(cause instanceof AsyncTimeoutError && cause.kind).toBe('hook');
  });

  it('attemptTimeout bounds one attempt, then the retry strategy applies', async () => {
    let attempt = 0;
    const clock = new ManualClock(0);
    const h = harness<number, number>(
      (x) => (++attempt === 1 ? new Promise<number>(() => undefined) : Promise.resolve(x * 2)),
      { attemptTimeout: 20, retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 10 }) },
      clock,
    );
    await h.open();
    h.processElement(4);
    await h.setProcessingTime(30);
    expect(h.getTimedOutput()).toEqual([{ time: 30, value: 8 }]);
  });

  it('failed records go to the dead-letter output', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const h = harness<number, number>((x) => (x < 0 ? Promise.reject(new Error(`negative ${x}`)) : Promise.resolve(x)), { onFailure: { deadLetter: letters } });
    await h.open();
    h.processElements([1, -2, 3]);
    await h.endInput();
    expect(h.getOutput()).toEqual([1, 3]);
    expect(h.getSideOutput(letters)).toEqual([{ input: -2, error: new Error('negative -2'), attempts: 1 }]);
  });

  it('a synchronous result completes at once', async () => {
    const h = harness<number, number>((x) => x + 1, { ordering: 'ordered' });
    await h.open();
    h.processElements([1, 2]);
    expect(h.getOutput()).toEqual([2, 3]);
  });
});
