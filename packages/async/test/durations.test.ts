import { describe, expect, it, vi } from 'vitest';
import { FakeBatchService, ManualClock } from '@tributary/testing';
import { InvalidJobError, OutputTag, StreamExecutionEnvironment } from '@tributary/core';
import type { AsyncTimeoutError} from '../src/index.js';
import { AsyncDataStream, RetryStrategies, ThrottledError, type DeadLetter } from '../src/index.js';
import { ControlledCalls, batchHarness, serviceHarness } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
/** Values no duration option accepts, with how the error shows them. */
const NONSENSE = [
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NaN, 'NaN'],
  [-1, '-1'],
] as const;
/** Durations Node's setTimeout cannot hold (it fires them after 1 ms): accepted, and honoured through the clock. */
const LONG = [2 ** 31, 30 * DAY];

const fn = (xs: readonly number[]): Promise<number[]> => Promise.resolve([...xs]);
const stream = () => StreamExecutionEnvironment.create().fromElements(1, 2, 3);

/** Every time-valued option of the async API: who owns it, its name, and a build that sets it to a value. */
const ASYNC_DURATIONS: readonly (readonly [string, string, (value: number) => unknown])[] = [
  ["unorderedWaitBatch() ('UnorderedWaitBatch')", 'maxBatchDelay', (v) => AsyncDataStream.unorderedWaitBatch(stream(), fn, { maxBatchSize: 2, maxBatchDelay: v })],
  ["orderedWaitBatch() ('OrderedWaitBatch')", 'timeout', (v) => AsyncDataStream.orderedWaitBatch(stream(), fn, { maxBatchSize: 2, timeout: v })],
  ["waitBatch() ('UnorderedWaitBatch')", 'deadline', (v) => AsyncDataStream.waitBatch(stream(), fn, { maxBatchSize: 2, deadline: v })],
  ["unorderedWait() ('UnorderedWait')", 'timeout', (v) => AsyncDataStream.unorderedWait(stream(), (x: number) => Promise.resolve(x), { timeout: v })],
  ["orderedWait() ('OrderedWait')", 'attemptTimeout', (v) => AsyncDataStream.orderedWait(stream(), (x: number) => Promise.resolve(x), { attemptTimeout: v })],
  ['RetryStrategies.fixedDelay()', 'delayMs', (v) => RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: v })],
  ['RetryStrategies.exponentialBackoff()', 'initialDelayMs', (v) => RetryStrategies.exponentialBackoff({ maxAttempts: 2, initialDelayMs: v, maxDelayMs: 2 ** 40 })],
  ['RetryStrategies.exponentialBackoff()', 'maxDelayMs', (v) => RetryStrategies.exponentialBackoff({ maxAttempts: 2, initialDelayMs: 0, maxDelayMs: v })],
];

describe('durations of the async API', () => {
  describe.each(ASYNC_DURATIONS)('%s: %s', (owner, option, build) => {
    it.each(NONSENSE)('rejects %s at build time, naming the owner and the option', (value, shown) => {
      expect(() => build(value)).toThrow(InvalidJobError);
      expect(() => build(value)).toThrow(`${owner}: option '${option}' must be a finite number of milliseconds`);
      expect(() => build(value)).toThrow(`got ${shown}`);
    });

    it.each(LONG)('accepts %s ms', (value) => {
      expect(() => build(value)).not.toThrow();
    });
  });

  it('says how to ask for "no limit" or "no time trigger" when given Infinity', () => {
    expect(ASYNC_DURATIONS[0]![2].bind(null, Number.POSITIVE_INFINITY)).toThrow('(0, or leaving it out, flushes on size and end of input only)');
    for (const i of [1, 2, 3, 4]) expect(ASYNC_DURATIONS[i]![2].bind(null, Number.POSITIVE_INFINITY)).toThrow('(leave it out for no time limit)');
  });

  it('keeps an exponential backoff from 0 at 0 after thousands of attempts (0 * Infinity would be NaN)', () => {
    const retry = RetryStrategies.exponentialBackoff({ maxAttempts: 5000, initialDelayMs: 0, maxDelayMs: 1000 });
    expect([1, 2000, 4999].map((n) => retry.backoff(n))).toEqual([0, 0, 0]);
  });

  it('a 30-day timeout does not cut the call 1 ms in; it cuts it at 30 days', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, timeout: 30 * DAY });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(1);
    expect(calls.call(0).ctx.signal.aborted).toBe(false);
    await harness.setProcessingTime(30 * DAY - 1);
    expect(calls.call(0).ctx.signal.aborted).toBe(false);
    await harness.setProcessingTime(30 * DAY);
    expect((calls.call(0).ctx.signal.reason as AsyncTimeoutError).timeoutMs).toBe(30 * DAY);
  });

  it('a 30-day maxBatchDelay flushes the partial batch at 30 days, not 1 ms in', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 10, maxBatchDelay: 30 * DAY });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(1);
    await harness.setProcessingTime(30 * DAY - 1);
    expect(calls.batches()).toEqual([]);
    await harness.setProcessingTime(30 * DAY);
    expect(calls.batches()).toEqual([[1, 2]]);
  });
});

describe('retry-after hints longer than a record may wait', () => {
  const retry = RetryStrategies.fixedDelay({ maxAttempts: 5, delayMs: 10 });

  it('without a deadline, a 30-day hint is honoured: the retry goes at 30 days, not in a loop', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 1, retry }, { throttleCalls: [1], retryAfterMs: 30 * DAY });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(0);
    await harness.setProcessingTime(1_000);
    expect(service.calls.map((c) => c.outcome)).toEqual(['throttled']);
    await harness.setProcessingTime(30 * DAY);
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'throttled'],
      [30 * DAY, 'ok'],
    ]);
    expect(harness.getOutput()).toEqual([10]);
  });

  it('on the system clock too: one call in the first second, not a loop (a 30-day hint gave 20 calls in 104 ms)', async () => {
    // Fake timers fire an overflowing setTimeout after 1 ms, as Node does; setImmediate stays real so the job runs.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 });
    try {
      // No stall check every minute: 30 fake days would fire it 43,200 times, seconds of a loaded CI machine.
      const env = StreamExecutionEnvironment.create({ stallWarningMs: 0 });
      let calls = 0;
      const throttledOnce = (xs: readonly number[]): Promise<number[]> =>
        ++calls === 1 ? Promise.reject(new ThrottledError('slow down', 30 * DAY)) : Promise.resolve([...xs]);
      const out = AsyncDataStream.unorderedWaitBatch(env.fromElements(1, 2), throttledOnce, { maxBatchSize: 2, retry }).executeAndCollect();
      for (let ms = 0; ms < 1000; ms += 100) await vi.advanceTimersByTimeAsync(100);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(30 * DAY - 1000);
      expect(await out).toEqual([1, 2]);
      expect(calls).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a hint past the deadline is not waited for: the batch gives up at once, after one call, with the throttling error', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const { service, harness } = serviceHarness(
      { maxBatchSize: 1, deadline: 60_000, retry, onFailure: { deadLetter: letters } },
      { throttleCalls: [1], retryAfterMs: 30 * DAY },
    );
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(0);
    expect(service.calls.map((c) => c.outcome)).toEqual(['throttled']);
    expect(harness.getSideOutput(letters).map((l) => [l.attempts, (l.error as Error).name])).toEqual([[1, 'FakeThrottledError']]);
    await harness.setProcessingTime(31 * DAY);
    expect(service.calls).toHaveLength(1);
  });

  it('with the fail policy, the job fails at once naming the throttling, instead of looping', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], throttleCalls: [1], retryAfterMs: 30 * DAY });
    const harness = batchHarness<number, number>((xs, { signal }) => service.call(xs, { signal }), { maxBatchSize: 1, deadline: 60_000, retry }, clock);
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(0);
    expect(service.calls).toHaveLength(1);
    expect((harness.failure as Error).message).toMatch(/^a batch of 1 record failed after 1 attempt: FakeBatchService call #1 throttled: retry after 2592000000 ms/);
  });
});
