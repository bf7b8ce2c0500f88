import { describe, expect, it } from 'vitest';
import { OutputTag } from '@tributary/core';
import { RetryStrategies, type DeadLetter } from '../src/index.js';
import { metric, serviceHarness } from './helpers.js';

describe('metrics', () => {
  it('reports exact values on a scripted run', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const { harness } = serviceHarness(
      {
        maxBatchSize: 3,
        maxBatchDelay: 20,
        maxBatchWeight: 100,
        weigher: (x) => x,
        maxInFlightBatches: 1,
        timeout: 50,
        retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 5 }),
        onFailure: { deadLetter: letters },
      },
      // Call #2 fails, call #4 never answers.
      { latency: { baseMs: 10, perItemMs: 1 }, failCalls: [2], hangCalls: [4] },
    );
    await harness.open();
    harness.processElements([1, 2, 3]); // call #1 at 0, done at 13
    await harness.setProcessingTime(5);
    harness.processElement(4); // sent at 25 by its delay: call #2 fails at 36, retried as call #3 at 41, done at 52
    await harness.setProcessingTime(30);
    harness.processElements([5, 6]); // due at 50, waits for the slot until 52: call #4 hangs, times out at 102, call #5 at 107, done at 119
    await harness.setProcessingTime(45);
    expect([metric(harness, 'inFlightBatches'), metric(harness, 'bufferedRecords')]).toEqual([1, 2]);
    await harness.setProcessingTime(60);
    expect([metric(harness, 'inFlightBatches'), metric(harness, 'bufferedRecords')]).toEqual([1, 0]);
    await harness.setProcessingTime(200);
    await harness.endInput();

    expect(harness.getOutput().sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50, 60]);
    const counters = ['batches', 'records', 'retries', 'failures', 'failedItems', 'timeouts', 'deadLettered', 'throttled'];
    expect(Object.fromEntries(counters.map((c) => [c, metric(harness, c)]))).toEqual({
      batches: 5,
      records: 9,
      retries: 2,
      failures: 2,
      failedItems: 0,
      timeouts: 1,
      deadLettered: 0,
      throttled: 0,
    });
    expect(metric(harness, 'batchSize')).toMatchObject({ count: 5, min: 1, max: 3, mean: 1.8 });
    expect(metric(harness, 'batchWeight')).toMatchObject({ count: 5, min: 4, max: 11, mean: 7.2 });
    expect(metric(harness, 'queueWaitMs')).toMatchObject({ count: 3, min: 0, max: 22, mean: 14 });
    // The timed-out call is not measured.
    expect(metric(harness, 'callLatencyMs')).toMatchObject({ count: 4, min: 11, max: 13, mean: 11.75 });
    expect([metric(harness, 'inFlightBatches'), metric(harness, 'bufferedRecords'), metric(harness, 'concurrencyLimit')]).toEqual([0, 0, 1]);
  });

  it('reads 0 records held, in flight and buffered once the operator closed with records held (a cancelled job)', async () => {
    const { harness } = serviceHarness({ maxBatchSize: 2, maxInFlightBatches: 1, ordering: 'ordered' }, { hangCalls: [1] });
    await harness.open();
    harness.processElements([1, 2, 3]);
    await harness.drain();
    expect([metric(harness, 'heldRecords'), metric(harness, 'inFlightBatches'), metric(harness, 'bufferedRecords')]).toEqual([3, 1, 1]);
    await harness.close();
    expect([metric(harness, 'heldRecords'), metric(harness, 'inFlightBatches'), metric(harness, 'bufferedRecords')]).toEqual([0, 0, 0]);
  });

  it('counts dead letters, failed items and throttling', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const { harness } = serviceHarness(
      { maxBatchSize: 2, maxInFlightBatches: 2, onFailure: { deadLetter: letters }, retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 0 }) },
      { throttleCalls: [1, 3], retryAfterMs: 10 },
    );
    await harness.open();
    harness.processElements([1, 2, 3, 4]);
    await harness.endInput();
    expect(harness.getSideOutput(letters).map((l) => l.input)).toEqual([1, 2]);
    expect([metric(harness, 'throttled'), metric(harness, 'deadLettered'), metric(harness, 'failures'), metric(harness, 'retries')]).toEqual([2, 2, 2, 1]);
  });
});
