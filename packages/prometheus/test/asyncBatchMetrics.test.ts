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

const embed = { job_name: 'embed job', operator: 'embed', uid: '', subtask: '0' };

describe('async batch operator metrics over HTTP', () => {
  it('shows the batch metrics with the values of the run', async () => {
    const { clock, env, service, out } = await throttledEmbeddingJob();
    const job = env.executeAsync('embed job');

    // Mid-run: the first call is in flight, the other six records wait in their batches.
    await clock.advance(5);
    let text = parseExposition((await scrape(server!.url)).body);
    expect(valueOf(text, 'tributary_async_calls_in_flight', embed)).toBe(1);
    expect(valueOf(text, 'tributary_async_buffered_records', embed)).toBe(6);
    expect(valueOf(text, 'tributary_async_calls_total', embed)).toBe(1);

    await runJobToCompletion(job, clock);
    expect([...out].sort()).toEqual(['v1', 'v10', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
    expect(service.batchSizes().sort()).toEqual([2, 4, 4, 4]);

    text = parseExposition((await scrape(server!.url)).body);
    expect(valueOf(text, 'tributary_operator_records_in_total', embed)).toBe(10);
    expect(valueOf(text, 'tributary_operator_records_out_total', embed)).toBe(10);
    const counter = (name: string) => valueOf(text, `tributary_async_${name}_total`, embed);
    expect(counter('calls')).toBe(4);
    expect(counter('call_records')).toBe(14);
    expect(counter('retries')).toBe(1);
    expect(counter('throttled')).toBe(1);
    expect(counter('call_failures')).toBe(1);
    expect(counter('timeouts')).toBe(0);
    expect(counter('dead_lettered')).toBe(0);
    expect(valueOf(text, 'tributary_async_calls_in_flight', embed)).toBe(0);
    expect(valueOf(text, 'tributary_async_buffered_records', embed)).toBe(0);

    const histogram = (name: string, les: readonly string[]) => [
      ...les.map((le) => valueOf(text, `tributary_async_${name}_bucket`, { ...embed, le })),
      valueOf(text, `tributary_async_${name}_sum`, embed),
      valueOf(text, `tributary_async_${name}_count`, embed),
    ];
    // batch sizes per call: 4, 4, 2, 4, in buckets of powers of two.
    expect(text.types.get('tributary_async_batch_size')).toBe('histogram');
    expect(histogram('batch_size', ['1', '2', '4', '+Inf'])).toEqual([0, 1, 4, 4, 14, 4]);
    // batch weights per call: 1+2+3+4 = 10, 5+6+7+8 = 26 (twice), 9+10 = 19.
    expect(histogram('batch_weight', ['8', '16', '32'])).toEqual([0, 1, 4, 81, 4]);
    // Every call, the throttled one included, took the service's 10 ms: 0.01 s.
    expect(histogram('call_duration_seconds', ['0.005', '0.01', '+Inf'])).toEqual([0, 4, 4, 0.04, 4]);
    // Three batches were formed from the input; [1-4] was called at once, [5-8] after the first call's 10 ms, [9,10] later.
    expect(valueOf(text, 'tributary_async_queue_wait_seconds_count', embed)).toBe(3);
    expect(valueOf(text, 'tributary_async_queue_wait_seconds_bucket', { ...embed, le: '0.001' })).toBe(1);
  });
});
