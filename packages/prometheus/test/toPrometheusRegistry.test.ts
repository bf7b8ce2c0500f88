import { MetricRegistry } from '@tributary/core';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { toPrometheusRegistry } from '../src/index.js';
import { parseExposition, valueOf } from './support/exposition.js';

const op = { job: 'embed', job_id: 'j1', operator: 'batch', uid: '', subtask: '0' };
/** The labels of `op`'s series: the job's name is `job_name` (Prometheus keeps `job` for the scrape job). */
const opLabels = { job_name: 'embed', job_id: 'j1', operator: 'batch', uid: '', subtask: '0' };
const operatorGroup = (registry: MetricRegistry, subtask = '0') =>
  registry.scopedGroup(['job', 'embed', 'operator', 'batch', subtask], { ...op, subtask });

function scripted() {
  const registry = new MetricRegistry();
  const group = operatorGroup(registry);
  const latency = group.histogram('callLatencyMs', 4);
  const records = group.counter('records');
  let inFlight = 3;
  group.gauge('inFlightBatches', () => inFlight);
  return { registry, group, latency, records, setInFlight: (n: number) => void (inFlight = n) };
}

describe('toPrometheusRegistry', () => {
  it('exposes a histogram as a Prometheus histogram in base units: cumulative buckets, _sum and _count over every update', async () => {
    const { registry, latency } = scripted();
    // The window of 4 does not limit the totals: all six updates count.
    for (const v of [0.5, 3, 3, 40, 2000, 90_000]) latency.update(v);
    const text = parseExposition(await toPrometheusRegistry(registry).metrics());

    const name = 'tributary_async_call_duration_seconds';
    expect(text.types.get(name)).toBe('histogram');
    const bucket = (le: string) => valueOf(text, `${name}_bucket`, { ...opLabels, le });
    expect([bucket('0.001'), bucket('0.0025'), bucket('0.005'), bucket('0.05'), bucket('2.5'), bucket('60'), bucket('+Inf')]).toEqual([1, 1, 3, 4, 5, 5, 6]);
    expect(text.samples.filter((s) => s.name === `${name}_bucket`)).toHaveLength(16);
    expect(valueOf(text, `${name}_sum`, opLabels)).toBeCloseTo(92.0465, 10);
    expect(valueOf(text, `${name}_count`, opLabels)).toBe(6);
    expect(text.types.has('tributary_async_call_duration_seconds_mean')).toBe(false);
  });

  it('reads counters and gauges at scrape time', async () => {
    const { registry, records, setInFlight } = scripted();
    const prometheus = toPrometheusRegistry(registry);
    records.inc(5);
    let text = parseExposition(await prometheus.metrics());
    expect(text.types.get('tributary_async_call_records_total')).toBe('counter');
    expect(valueOf(text, 'tributary_async_call_records_total', opLabels)).toBe(5);
    expect(text.types.get('tributary_async_calls_in_flight')).toBe('gauge');
    expect(valueOf(text, 'tributary_async_calls_in_flight', opLabels)).toBe(3);

    records.inc(2);
    setInFlight(0);
    text = parseExposition(await prometheus.metrics());
    expect(valueOf(text, 'tributary_async_call_records_total', opLabels)).toBe(7);
    expect(valueOf(text, 'tributary_async_calls_in_flight', opLabels)).toBe(0);
  });

  it('picks up metrics registered after the first scrape, as one family over all subtasks', async () => {
    const { registry, records } = scripted();
    const prometheus = toPrometheusRegistry(registry);
    records.inc(1);
    await prometheus.metrics();
    operatorGroup(registry, '1').counter('records').inc(4);
    const text = parseExposition(await prometheus.metrics());
    expect(valueOf(text, 'tributary_async_call_records_total', { subtask: '0' })).toBe(1);
    expect(valueOf(text, 'tributary_async_call_records_total', { subtask: '1' })).toBe(4);
    expect(text.samples.filter((s) => s.name === 'tributary_async_call_records_total')).toHaveLength(2);
  });

  it('serves the same values as JSON and through Registry.merge', async () => {
    const { registry, records } = scripted();
    const prometheus = toPrometheusRegistry(registry, { prefix: 'app' });
    records.inc(9);
    const json = await prometheus.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'app_async_call_records_total')?.values).toEqual([{ labels: opLabels, value: 9 }]);

    const own = new Registry();
    new Counter({ name: 'http_requests_total', help: 'requests', registers: [own] }).inc(3);
    const merged = parseExposition(await Registry.merge([prometheus, own]).metrics());
    expect(valueOf(merged, 'app_async_call_records_total', opLabels)).toBe(9);
    expect(valueOf(merged, 'http_requests_total')).toBe(3);
  });

  it('shows live histogram values through Registry.merge, which reads the metric list only once', async () => {
    const { registry, latency } = scripted();
    const merged = Registry.merge([toPrometheusRegistry(registry)]);
    latency.update(10);
    let text = parseExposition(await merged.metrics());
    expect(valueOf(text, 'tributary_async_call_duration_seconds_sum', opLabels)).toBeCloseTo(0.01, 10);
    latency.update(30);
    text = parseExposition(await merged.metrics());
    expect(valueOf(text, 'tributary_async_call_duration_seconds_sum', opLabels)).toBeCloseTo(0.04, 10);
    expect(valueOf(text, 'tributary_async_call_duration_seconds_count', opLabels)).toBe(2);
  });

  it('gives a metric whose name is taken by a family of another kind its kind as suffix', async () => {
    const registry = new MetricRegistry();
    const at = (operator: string) => registry.scopedGroup(['job', 'j', 'operator', operator, '0'], { job: 'j', operator });
    at('a').histogram('latency').update(12);
    at('b').gauge('latency', () => 7);
    // The histogram `latency` also writes `latency_count` samples, so a gauge cannot have that name.
    at('c').gauge('latency_count', () => 1);
    const text = parseExposition(await toPrometheusRegistry(registry).metrics());
    expect(text.types.get('tributary_latency')).toBe('histogram');
    expect(valueOf(text, 'tributary_latency_sum', { operator: 'a' })).toBe(12);
    expect(valueOf(text, 'tributary_latency_count', { operator: 'a' })).toBe(1);
    expect(text.types.get('tributary_latency_gauge')).toBe('gauge');
    expect(valueOf(text, 'tributary_latency_gauge', { operator: 'b' })).toBe(7);
    expect(text.types.get('tributary_latency_count_gauge')).toBe('gauge');
    expect(valueOf(text, 'tributary_latency_count_gauge', { operator: 'c' })).toBe(1);
  });

  it('keeps two runs of one job name apart by job_id', async () => {
    const registry = new MetricRegistry();
    for (const [jobId, n] of [['run1', 2], ['run2', 5]] as const) {
      registry.scopedGroup(['job', 'j', 'operator', 'm', '0'], { job: 'j', job_id: jobId, operator: 'm', uid: '', subtask: '0' }).counter('numRecordsIn').inc(n);
    }
    const text = parseExposition(await toPrometheusRegistry(registry).metrics());
    expect(valueOf(text, 'tributary_operator_records_in_total', { job_id: 'run1' })).toBe(2);
    expect(valueOf(text, 'tributary_operator_records_in_total', { job_id: 'run2' })).toBe(5);
  });

  it('stops publishing the metrics the registry drops (an ended run, once a later run of its job started)', async () => {
    const registry = new MetricRegistry();
    const prometheus = toPrometheusRegistry(registry);
    for (const jobId of ['run1', 'run2']) {
      registry.scopedGroup(['job', 'j', 'operator', 'm', '0'], { job: 'j', job_id: jobId, operator: 'm', uid: '', subtask: '0' }).counter('numRecordsIn').inc(3);
    }
    expect(parseExposition(await prometheus.metrics()).samples.filter((s) => s.name === 'tributary_operator_records_in_total')).toHaveLength(2);
    registry.remove({ job_id: 'run1' });
    const text = parseExposition(await prometheus.metrics());
    expect(text.samples.filter((s) => s.name === 'tributary_operator_records_in_total').map((s) => s.labels.job_id)).toEqual(['run2']);
  });

  it('drops a family whose series have all ended (no HELP and TYPE lines without samples), and brings it back with a new series', async () => {
    const registry = new MetricRegistry();
    const prometheus = toPrometheusRegistry(registry);
    const count = (jobId: string) =>
      registry.scopedGroup(['job', 'j', 'operator', 'm', '0'], { job: 'j', job_id: jobId, operator: 'm', uid: '', subtask: '0' }).counter('numRecordsIn').inc(3);
    count('run1');
    expect(await prometheus.metrics()).toContain('# TYPE tributary_operator_records_in_total counter');
    registry.remove({ job_id: 'run1' });
    expect(await prometheus.metrics()).not.toContain('tributary_operator_records_in_total');
    count('run2');
    expect(valueOf(parseExposition(await prometheus.metrics()), 'tributary_operator_records_in_total', { job_id: 'run2' })).toBe(3);
  });

  it('refuses two metrics of one subtask that sanitize to the same series, naming both', async () => {
    const registry = new MetricRegistry();
    const group = registry.scopedGroup(['job', 'j', 'operator', 'a', '0'], { job: 'j', operator: 'a', subtask: '0' });
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
    expect(valueOf(parseExposition(await prometheus.metrics()), 'tributary_async_call_records_total', opLabels)).toBe(3);
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
