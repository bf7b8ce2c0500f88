// The examples of docs/metrics.md: the guide shows these lines (marked
// `<!-- example: ... -->`), and the docs check verifies they are still here.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AsyncDataStream } from '@tributary/async';
import { MetricRegistry, StreamExecutionEnvironment, type HistogramSnapshot, type MetricValue } from '@tributary/core';
import { startMetricsServer } from '@tributary/prometheus';

/** Stands in for a model: one vector per text, answered on the next event-loop turn. */
const embed = (texts: readonly string[]) => new Promise<number[][]>((resolve) => setImmediate(() => resolve(texts.map((t) => [t.length]))));
const texts = Array.from({ length: 1000 }, (_, i) => `text ${i}`);

describe('docs/metrics.md', () => {
  it('reads the metrics of a finished job from its result', async () => {
    const env = StreamExecutionEnvironment.create();
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embed, { maxBatchSize: 64 })
      .name('embed')
      .addSink(() => undefined);
    const result = await env.execute('embed texts');

    // Ids are job.<job>.operator.<uid or name>.<subtask>.<metric>.
    const embedded = result.metrics['job.embed texts.operator.embed.0.numRecordsOut'] as number;
    const calls = result.metrics['job.embed texts.operator.embed.0.batches'] as number;
    const latency = result.metrics['job.embed texts.operator.embed.0.callLatencyMs'] as HistogramSnapshot; // count, min, max, mean, p50, p95, p99

    expect(embedded).toBe(1000);
    expect(calls).toBe(16);
    expect(latency.count).toBe(16);
    expect(result.operators.find((o) => o.name === 'embed')).toMatchObject({ recordsIn: 1000, recordsOut: 1000 });
  });

  it('watches a running job through its registry', async () => {
    const lines: string[] = [];
    const report = (now: Record<string, MetricValue>) => {
      const embedded = now['job.embed texts.operator.embed.0.numRecordsOut'] as number;
      lines.push(`${embedded} embedded, ${now['job.embed texts.operator.embed.0.inFlightBatches'] as number} calls in flight`);
    };

    const registry = new MetricRegistry();
    const env = StreamExecutionEnvironment.create({ metrics: registry });
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embed, { maxBatchSize: 64, maxInFlightBatches: 2 })
      .name('embed')
      .addSink(() => undefined);
    const job = env.executeAsync('embed texts');

    const watch = setInterval(() => report(registry.snapshot()), 1_000); // e.g. print a progress line
    await job.result;
    clearInterval(watch);
    report(registry.snapshot());

    expect(lines.at(-1)).toBe('1000 embedded, 0 calls in flight');
  });

  it('serves the registry to Prometheus', async () => {
    const registry = new MetricRegistry();
    const env = StreamExecutionEnvironment.create({ metrics: registry });
    // Prometheus scrapes server.url while the job runs; port 0 picks a free port (use a fixed one, e.g. 9464, in production).
    const server = await startMetricsServer({ registry, port: 0 });
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embed, { maxBatchSize: 64 })
      .name('embed')
      .addSink(() => undefined);
    await env.execute('embed texts');
    const scrape = await (await fetch(server.url)).text();
    await server.close();

    const labels = 'job_name="embed texts",job_id="[0-9a-f]{32}",operator="embed",uid="",subtask="0"';
    expect(scrape).toMatch(new RegExp(`^tributary_async_calls_total\\{${labels}\\} 16$`, 'm'));
    expect(scrape).toMatch(new RegExp(`^tributary_async_call_duration_seconds_count\\{${labels}\\} 16$`, 'm'));
  });
});

describe('the metric tables of docs/metrics.md', () => {
  it('name exactly the metrics a job with a keyed stage, an async operator and checkpoints registers', async () => {
    const guide = await readFile(fileURLToPath(new URL('../../../../docs/metrics.md', import.meta.url)), 'utf8');
    // First cells of table rows: `name` or `name`, `name`.
    const documented = new Set(guide.split('\n').flatMap((line) => (/^\| `/.test(line) ? [...line.split('|')[1]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!) : [])));

    const storage = await mkdtemp(join(tmpdir(), 'metrics-doc-'));
    try {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
      env.enableCheckpointing(60_000, { storage });
      const embedded = AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embed, { maxBatchSize: 64 }).name('embed');
      embedded.keyBy((v) => v[0]!).map((v) => v).name('keyed').addSink(() => undefined);
      const result = await env.execute('all metrics');
      const registered = new Set(Object.keys(result.metrics).map((id) => id.slice(id.lastIndexOf('.') + 1)));
      expect([...registered].sort()).toEqual([...documented].sort());
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
  });
});
