import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { ManualClock, StreamExecutionEnvironment } from '@tributary/core';
import { collect, FakeBatchService, runJobToCompletion } from '@tributary/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../src/index.js';
import { parseExposition, scrape, valueOf } from './support/exposition.js';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
});

/**
 * Ten records 1..10, batches of four, one call at a time, every call takes
 * 10 ms; the second call is throttled (retry after 40 ms) and retried once.
 * Calls: [1-4], [5-8] throttled, then [9,10] and the retry of [5-8] in some
 * order: four calls carrying 4 + 4 + 2 + 4 = 14 records.
 */
async function throttledEmbeddingJob() {
  const clock = new ManualClock(0);
  const env = StreamExecutionEnvironment.create({ clock });
  server = await startMetricsServer({ registry: env.metrics });
  const service = new FakeBatchService<number, string>({
    clock,
    handler: (xs) => xs.map((x) => `v${x}`),
    latency: { baseMs: 10, perItemMs: 0 },
    throttleCalls: [2],
    retryAfterMs: 40,
  });
  const out = collect(
    AsyncDataStream.unorderedWaitBatch(env.fromCollection([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), (batch, { signal }) => service.call(batch, { signal }), {
      maxBatchSize: 4,
      maxBatchWeight: 1000,
      weigher: (x) => x,
      maxInFlightBatches: 1,
      capacity: 100,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 5 }),
    }).name('embed'),
  );
  return { clock, env, service, out };
}

const embed = { job: 'embed job', operator: 'embed', subtask: '0' };

describe('async batch operator metrics over HTTP', () => {
  it('shows the batch metrics with the values of the run', async () => {
    const { clock, env, service, out } = await throttledEmbeddingJob();
    const job = env.executeAsync('embed job');

    // Mid-run: the first call is in flight, the other six records wait in their batches.
    await clock.advance(5);
    let text = parseExposition((await scrape(server!.url)).body);
    expect(valueOf(text, 'tributary_inFlightBatches', embed)).toBe(1);
    expect(valueOf(text, 'tributary_bufferedRecords', embed)).toBe(6);
    expect(valueOf(text, 'tributary_batches_total', embed)).toBe(1);

    await runJobToCompletion(job, clock);
    expect([...out].sort()).toEqual(['v1', 'v10', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
    expect(service.batchSizes().sort()).toEqual([2, 4, 4, 4]);

    text = parseExposition((await scrape(server!.url)).body);
    const counter = (name: string) => valueOf(text, `tributary_${name}_total`, embed);
    expect(counter('batches')).toBe(4);
    expect(counter('records')).toBe(14);
    expect(counter('retries')).toBe(1);
    expect(counter('throttled')).toBe(1);
    expect(counter('failures')).toBe(1);
    expect(counter('timeouts')).toBe(0);
    expect(counter('deadLettered')).toBe(0);
    expect(counter('numRecordsIn')).toBe(10);
    expect(counter('numRecordsOut')).toBe(10);
    expect(valueOf(text, 'tributary_inFlightBatches', embed)).toBe(0);
    expect(valueOf(text, 'tributary_bufferedRecords', embed)).toBe(0);

    const summary = (name: string, quantile: string) => valueOf(text, `tributary_${name}`, { ...embed, quantile });
    // batchSize per call: 4, 4, 2, 4.
    expect(text.types.get('tributary_batchSize')).toBe('summary');
    expect(valueOf(text, 'tributary_batchSize_count', embed)).toBe(4);
    expect([summary('batchSize', '0'), summary('batchSize', '0.5'), summary('batchSize', '1')]).toEqual([2, 4, 4]);
    expect(valueOf(text, 'tributary_batchSize_mean', embed)).toBe(3.5);
    // batchWeight per call: 1+2+3+4 = 10, 5+6+7+8 = 26 (twice), 9+10 = 19.
    expect([summary('batchWeight', '0'), summary('batchWeight', '0.5'), summary('batchWeight', '1')]).toEqual([10, 19, 26]);
    expect(valueOf(text, 'tributary_batchWeight_mean', embed)).toBe(20.25);
    // Every call, the throttled one included, took the service's 10 ms.
    expect(valueOf(text, 'tributary_callLatencyMs_count', embed)).toBe(4);
    expect([summary('callLatencyMs', '0'), summary('callLatencyMs', '0.99'), summary('callLatencyMs', '1')]).toEqual([10, 10, 10]);
    // Three batches were formed from the input; [1-4] was called at once, [5-8] after the first call's 10 ms.
    expect(valueOf(text, 'tributary_queueWaitMs_count', embed)).toBe(3);
    expect([summary('queueWaitMs', '0'), summary('queueWaitMs', '0.5')]).toEqual([0, 10]);
  });
});
