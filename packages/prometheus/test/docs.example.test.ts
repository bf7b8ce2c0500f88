import { StreamExecutionEnvironment } from '@tributary/core';
import { startMetricsServer } from '@tributary/prometheus';

export async function wordCountWithMetrics(lines: Iterable<string>, port = 9464) {
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
  // Prometheus scrapes http://127.0.0.1:9464/metrics; values are read from env.metrics at each scrape.
  const metrics = await startMetricsServer({ registry: env.metrics, port, processMetrics: true });
  env
    .fromCollection(lines)
    .flatMap((line) => line.split(/\s+/).filter((word) => word !== ''))
    .name('split')
    .map((word): [string, number] => [word, 1])
    .keyBy(([word]) => word)
    .reduce(([word, a], [, b]): [string, number] => [word, a + b])
    .name('count')
    .addSink(() => undefined);
  const result = await env.execute('word count');
  return { result, metrics }; // close the endpoint with `await metrics.close()` when the process is done
}

import { afterEach, describe, expect, it } from 'vitest';
import type { MetricsServer } from '../src/index.js';
import { parseExposition, scrape, sumOf } from './support/exposition.js';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
});

describe('the @tributary/prometheus example of docs/adapters.md', () => {
  it('serves the job metrics and the process metrics', async () => {
    const lines = ['the quick brown fox', 'jumps over the lazy dog', '', 'the end'];
    const { metrics } = await wordCountWithMetrics(lines, 0);
    server = metrics;
    const text = parseExposition((await scrape(metrics.url)).body);
    const job = { job_name: 'word count' };

    expect(sumOf(text, 'tributary_operator_records_in_total', { ...job, operator: 'split' })).toBe(4);
    expect(sumOf(text, 'tributary_operator_records_out_total', { ...job, operator: 'split' })).toBe(11);
    expect(sumOf(text, 'tributary_operator_records_in_total', { ...job, operator: 'count' })).toBe(11);
    expect(sumOf(text, 'tributary_operator_records_out_total', { ...job, operator: 'count' })).toBe(11);
    expect(text.types.get('process_cpu_user_seconds_total')).toBe('counter');
  });

});
