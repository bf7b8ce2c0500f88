import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '@tributary/core';
import { FakeBatchService, ManualClock, runJobToCompletion } from '@tributary/testing';
import { AsyncDataStream, RetryStrategies } from '../src/index.js';
import { AimdLimiter } from '../src/retry/AimdLimiter.js';
import { RateLimiter, TokenBucket } from '../src/retry/RateLimiter.js';
import { ControlledCalls, batchHarness, metric, range, serviceHarness } from './helpers.js';

describe('maxInFlightBatches', () => {
  it('is reached and never exceeded', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 4, maxInFlightBatches: 3, capacity: 1_000 }, { latency: { baseMs: 10, perItemMs: 1 } });
    await harness.open();
    let peakGauge = 0;
    for (const x of range(1, 100)) {
      harness.processElement(x);
      peakGauge = Math.max(peakGauge, metric(harness, 'inFlightBatches') as number);
    }
    await harness.endInput();
    expect(service.maxConcurrency).toBe(3);
    expect(peakGauge).toBe(3);
    expect(harness.getOutput()).toHaveLength(100);
  });

  it('holds formed batches until a call slot frees, oldest first', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 1, capacity: 10 });
    await harness.open();
    harness.processElements(range(1, 6));
    await harness.drain();
    expect(calls.batches()).toEqual([[1, 2]]);
    expect(metric(harness, 'bufferedRecords')).toBe(4);
    calls.call(0).resolve([]);
    await harness.drain();
    expect(calls.batches()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});

describe('a completed call', () => {
  it('hands its slot to the next ready batch before its outputs go down the chain', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 10, perItemMs: 0 } });
    const events: string[] = [];
    AsyncDataStream.unorderedWaitBatch(
      env.fromCollection(range(1, 6)),
      (xs: readonly number[]) => {
        events.push(`call ${xs.join(',')}`);
        return service.call(xs);
      },
      { maxBatchSize: 2, maxInFlightBatches: 1 },
    ).addSink((x) => void events.push(`out ${x}`));
    await runJobToCompletion(env.executeAsync('slot first'), clock);
    expect(events).toEqual(['call 1,2', 'call 3,4', 'out 1', 'out 2', 'call 5,6', 'out 3', 'out 4', 'out 5', 'out 6']);
  });
});

describe('capacity', () => {
  it('backpressures exactly at capacity: held records never exceed it', async () => {
    const { clock, harness } = serviceHarness({ maxBatchSize: 4, maxInFlightBatches: 2, capacity: 10, maxBatchDelay: 5 }, { latency: { baseMs: 10, perItemMs: 0 } });
    await harness.open();
    let fed = 0;
    let sawBackpressure = false;
    for (const x of range(1, 200)) {
      while (harness.backpressured) {
        sawBackpressure = true;
        const held = fed - harness.getOutput().length;
        expect(held).toBe(10); // blocked only when full
        await harness.setProcessingTime(clock.nextTimerAt() ?? clock.now());
      }
      harness.processElement(x);
      fed++;
      const held = fed - harness.getOutput().length;
      expect(held).toBeLessThanOrEqual(10);
      expect(harness.backpressured).toBe(held === 10);
    }
    await harness.endInput();
    expect(sawBackpressure).toBe(true);
    expect(harness.getOutput().sort((a, b) => a - b)).toEqual(range(1, 200).map((x) => x * 10));
  });

  it('counts results waiting behind an earlier record in ordered mode', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 2, capacity: 4, ordering: 'ordered' });
    await harness.open();
    harness.processElements([1, 2, 3, 4]);
    await harness.drain();
    expect(harness.backpressured).toBe(true);
    calls.call(1).resolve([3, 4]); // done, but waits for [1, 2]: still held
    await harness.drain();
    expect(harness.backpressured).toBe(true);
    calls.call(0).resolve([1, 2]);
    await harness.drain();
    expect(harness.backpressured).toBe(false);
    expect(harness.getOutput()).toEqual([1, 2, 3, 4]);
  });

  it('sends partial batches when full with nothing in flight, so it can never deadlock', async () => {
    const calls = new ControlledCalls<string, string>();
    // Two keys each half-fill their batch: the operator is full, nothing is in flight, and no timer is set.
    const harness = batchHarness(calls.fn, { maxBatchSize: 4, capacity: 4, maxInFlightBatches: 2, batchKey: (s) => s[0] });
    await harness.open();
    harness.processElements(['a1', 'b1', 'a2']);
    await harness.drain();
    expect(calls.calls).toHaveLength(0);
    harness.processElement('b2');
    await harness.drain();
    expect(calls.batches()).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    expect(harness.backpressured).toBe(true);
    calls.call(0).resolve(['A1', 'A2']);
    await harness.drain();
    expect(harness.backpressured).toBe(false);
  });
});

describe('rate limits', () => {
  it('requestsPerSecond spaces calls on the clock (the bucket holds one second and starts full)', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 1, maxInFlightBatches: 10, rateLimit: { requestsPerSecond: 2 } });
    await harness.open();
    harness.processElements(range(1, 5));
    await harness.endInput();
    expect(service.calls.map((c) => c.queuedAt)).toEqual([0, 0, 500, 1000, 1500]);
  });

  it('itemsPerSecond counts records, and applies to retries too', async () => {
    const { service, harness } = serviceHarness(
      { maxBatchSize: 5, maxInFlightBatches: 10, rateLimit: { itemsPerSecond: 10 }, retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 0 }) },
      { failCalls: [1] },
    );
    await harness.open();
    harness.processElements(range(1, 15));
    await harness.endInput();
    expect(service.calls.map((c) => [c.queuedAt, c.inputs[0]])).toEqual([
      [0, 1],
      [0, 6],
      [500, 1], // the retry
      [1000, 11],
    ]);
  });

  it('token buckets', () => {
    const bucket = new TokenBucket(4, 0);
    expect(bucket.waitFor(4, 0)).toBe(0);
    bucket.take(4);
    expect(bucket.waitFor(1, 0)).toBe(250);
    expect(bucket.waitFor(1, 250)).toBe(0);
    // A cost above the bucket's size waits for a full bucket, then goes into debt.
    expect(bucket.waitFor(10, 250)).toBe(750);
    expect(bucket.waitFor(10, 1000)).toBe(0);
    bucket.take(10);
    expect(bucket.waitFor(1, 1000)).toBe(1750);
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ requestsPerSecond: 1, itemsPerSecond: 100 }, clock);
    expect(limiter.tryAcquire(10)).toBe(0);
    expect(limiter.tryAcquire(10)).toBe(1000);
  });
});

describe('throttling', () => {
  it('waits the retry-after hint, counts it, and lowers concurrency (AIMD)', async () => {
    const { service, harness } = serviceHarness(
      { maxBatchSize: 2, maxInFlightBatches: 4, capacity: 100, retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 5 }) },
      { latency: { baseMs: 10, perItemMs: 0 }, throttleCalls: [1, 2, 3, 4], retryAfterMs: 300 },
    );
    await harness.open();
    harness.processElements(range(1, 40));
    await harness.setProcessingTime(10);
    expect(metric(harness, 'throttled')).toBe(4);
    expect(metric(harness, 'concurrencyLimit')).toBe(1);
    await harness.endInput();
    const startedAt = (t: number): number => service.calls.filter((c) => c.startedAt === t).length;
    expect(startedAt(0)).toBe(4);
    expect(startedAt(10)).toBe(1); // four throttles halved the limit down to 1
    const retries = service.calls.filter((c) => c.id > 4 && [1, 3, 5, 7].includes(c.inputs[0] as number));
    expect(retries.map((c) => c.queuedAt)).toEqual([310, 310, 310, 310]);
    expect(harness.getOutput().sort((a, b) => a - b)).toEqual(range(1, 40).map((x) => x * 10));
    expect(metric(harness, 'concurrencyLimit')).toBe(4); // additive increase brought it back
  });

  it('the AIMD limiter halves on throttling and adds 1/limit per success, within [1, max]', () => {
    const limiter = new AimdLimiter(4);
    limiter.onThrottle();
    expect(limiter.limit).toBe(2);
    limiter.onThrottle();
    limiter.onThrottle();
    expect(limiter.limit).toBe(1);
    const limits: number[] = [];
    for (let i = 0; i < 8; i++) {
      limiter.onSuccess();
      limits.push(limiter.limit);
    }
    expect(limits).toEqual([2, 2, 2, 3, 3, 3, 4, 4]);
  });

  it('a throttled call is not retried beyond maxAttempts', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], throttleCalls: [1, 2], retryAfterMs: 50 });
    const harness = batchHarness<number, number>((xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 1,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 1 }),
    }, clock);
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(100);
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'throttled'],
      [50, 'throttled'],
    ]);
    expect((harness.failure as Error).message).toMatch(/^a batch of 1 record failed after 2 attempts: FakeBatchService call #2 throttled/);
  });
});
