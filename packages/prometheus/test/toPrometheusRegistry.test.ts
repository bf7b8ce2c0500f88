import { MetricRegistry } from '@tributary/core';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { toPrometheusRegistry } from '../src/index.js';
import { parseExposition, valueOf } from './support/exposition.js';

const op = { job: 'embed', operator: 'batch', subtask: '0' };

function scripted() {
  const registry = new MetricRegistry();
  const group = registry.group('job', 'embed', 'operator', 'batch', '0');
  const sizes = group.histogram('batchSize', 4);
  const records = group.counter('records');
  let inFlight = 3;
  group.gauge('inFlightBatches', () => inFlight);
  return { registry, group, sizes, records, setInFlight: (n: number) => void (inFlight = n) };
}

describe('toPrometheusRegistry', () => {
  it('exposes a histogram as a summary with window quantiles, total count and a mean gauge', async () => {
    const { registry, sizes } = scripted();
    // Window of 4: after six updates it holds 30, 40, 50, 60 while the count is 6.
    for (const v of [10, 20, 30, 40, 50, 60]) sizes.update(v);
    const text = parseExposition(await toPrometheusRegistry(registry).metrics());

    expect(text.types.get('tributary_batchSize')).toBe('summary');
    expect(valueOf(text, 'tributary_batchSize', { ...op, quantile: '0' })).toBe(30);
    expect(valueOf(text, 'tributary_batchSize', { ...op, quantile: '0.5' })).toBe(40);
    expect(valueOf(text, 'tributary_batchSize', { ...op, quantile: '0.95' })).toBe(60);
    expect(valueOf(text, 'tributary_batchSize', { ...op, quantile: '0.99' })).toBe(60);
    expect(valueOf(text, 'tributary_batchSize', { ...op, quantile: '1' })).toBe(60);
    expect(valueOf(text, 'tributary_batchSize_count', op)).toBe(6);
    expect(text.samples.some((s) => s.name === 'tributary_batchSize_sum')).toBe(false);
    expect(text.types.get('tributary_batchSize_mean')).toBe('gauge');
    expect(valueOf(text, 'tributary_batchSize_mean', op)).toBe(45);
  });

  it('reads counters and gauges at scrape time', async () => {
    const { registry, records, setInFlight } = scripted();
    const prometheus = toPrometheusRegistry(registry);
    records.inc(5);
    let text = parseExposition(await prometheus.metrics());
    expect(text.types.get('tributary_records_total')).toBe('counter');
    expect(valueOf(text, 'tributary_records_total', op)).toBe(5);
    expect(text.types.get('tributary_inFlightBatches')).toBe('gauge');
    expect(valueOf(text, 'tributary_inFlightBatches', op)).toBe(3);

    records.inc(2);
    setInFlight(0);
    text = parseExposition(await prometheus.metrics());
    expect(valueOf(text, 'tributary_records_total', op)).toBe(7);
    expect(valueOf(text, 'tributary_inFlightBatches', op)).toBe(0);
  });

  it('picks up metrics registered after the first scrape, as one family over all subtasks', async () => {
    const { registry, records } = scripted();
    const prometheus = toPrometheusRegistry(registry);
    records.inc(1);
    await prometheus.metrics();
    registry.group('job', 'embed', 'operator', 'batch', '1').counter('records').inc(4);
    const text = parseExposition(await prometheus.metrics());
    expect(valueOf(text, 'tributary_records_total', { subtask: '0' })).toBe(1);
    expect(valueOf(text, 'tributary_records_total', { subtask: '1' })).toBe(4);
    expect(text.samples.filter((s) => s.name === 'tributary_records_total')).toHaveLength(2);
  });

  it('serves the same values as JSON and through Registry.merge', async () => {
    const { registry, records } = scripted();
    const prometheus = toPrometheusRegistry(registry, { prefix: 'app' });
    records.inc(9);
    const json = await prometheus.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'app_records_total')?.values).toEqual([{ labels: op, value: 9 }]);

    const own = new Registry();
    new Counter({ name: 'http_requests_total', help: 'requests', registers: [own] }).inc(3);
    const merged = parseExposition(await Registry.merge([prometheus, own]).metrics());
    expect(valueOf(merged, 'app_records_total', op)).toBe(9);
    expect(valueOf(merged, 'http_requests_total')).toBe(3);
  });

  it('shows live histogram values through Registry.merge, which reads the metric list only once', async () => {
    const { registry, sizes } = scripted();
    const merged = Registry.merge([toPrometheusRegistry(registry)]);
    sizes.update(10);
    let text = parseExposition(await merged.metrics());
    expect(valueOf(text, 'tributary_batchSize_mean', op)).toBe(10);
    sizes.update(30);
    text = parseExposition(await merged.metrics());
    expect(valueOf(text, 'tributary_batchSize_mean', op)).toBe(20);
    expect(valueOf(text, 'tributary_batchSize', { ...op, quantile: '1' })).toBe(30);
  });

  it('gives a metric whose name is taken by a family of another kind its kind as suffix', async () => {
    const registry = new MetricRegistry();
    registry.group('job', 'j', 'operator', 'a', '0').histogram('latency').update(12);
    registry.group('job', 'j', 'operator', 'b', '0').gauge('latency', () => 7);
    // The summary `latency` also writes `latency_count` samples, so a gauge cannot have that name.
    registry.group('job', 'j', 'operator', 'c', '0').gauge('latency_count', () => 1);
    const text = parseExposition(await toPrometheusRegistry(registry).metrics());
    expect(text.types.get('tributary_latency')).toBe('summary');
    expect(valueOf(text, 'tributary_latency', { operator: 'a', quantile: '0.5' })).toBe(12);
    expect(valueOf(text, 'tributary_latency_count', { operator: 'a' })).toBe(1);
    expect(text.types.get('tributary_latency_gauge')).toBe('gauge');
    expect(valueOf(text, 'tributary_latency_gauge', { operator: 'b' })).toBe(7);
    expect(text.types.get('tributary_latency_count_gauge')).toBe('gauge');
    expect(valueOf(text, 'tributary_latency_count_gauge', { operator: 'c' })).toBe(1);
  });

  it('refuses two metrics of one subtask that sanitize to the same series, naming both', async () => {
    const registry = new MetricRegistry();
    const group = registry.group('job', 'j', 'operator', 'a', '0');
    group.counter('cache-hits');
    group.counter('cache_hits');
    await expect(toPrometheusRegistry(registry).metrics()).rejects.toThrow(
      /'job\.j\.operator\.a\.0\.cache-hits' and 'job\.j\.operator\.a\.0\.cache_hits' both map/,
    );
  });

  it('shows the Tributary metrics again after clear()', async () => {
    const { registry, records } = scripted();
    const prometheus = toPrometheusRegistry(registry);
    records.inc(3);
    await prometheus.metrics();
    prometheus.clear();
    expect(valueOf(parseExposition(await prometheus.metrics()), 'tributary_records_total', op)).toBe(3);
  });

  it('exports metrics outside a job scope without labels', async () => {
    const registry = new MetricRegistry();
    registry.group('app').counter('restarts').inc(2);
    const text = parseExposition(await toPrometheusRegistry(registry).metrics());
    expect(text.samples).toEqual([{ name: 'tributary_app_restarts_total', labels: {}, value: 2 }]);
  });

  it('adds the Node.js process metrics only when asked', async () => {
    const registry = new MetricRegistry();
    const without = parseExposition(await toPrometheusRegistry(registry).metrics());
    const withProcess = parseExposition(await toPrometheusRegistry(registry, { processMetrics: true }).metrics());
    expect(without.types.has('process_cpu_user_seconds_total')).toBe(false);
    expect(withProcess.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(valueOf(withProcess, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
  });

  it('rejects bad options, naming them', () => {
    expect(() => toPrometheusRegistry(new MetricRegistry(), { prefix: 'my-app' })).toThrow(/option 'prefix' must be a valid Prometheus metric name/);
    expect(() => toPrometheusRegistry({} as MetricRegistry)).toThrow(/registry must be a @tributary\/core MetricRegistry/);
  });
});
