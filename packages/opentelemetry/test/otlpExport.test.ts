import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { DataPointType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { HISTOGRAM_BUCKETS, InvalidJobError, MetricRegistry, StreamExecutionEnvironment } from '@tributary/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tributaryMetricProducer } from '../src/index.js';
import { startOtlpReceiver, type ReceivedMetric } from './otlpReceiver.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('tributaryMetricProducer over OTLP/HTTP', () => {
  it("pushes a job's metrics to an OTLP receiver: names, units, values and attributes", async () => {
    const receiver = await startOtlpReceiver();
    closers.push(() => receiver.close());
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 }).enableCheckpointing(60_000, { storage: mkdtempSync(join(tmpdir(), 'otel-ckpt-')) });
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: receiver.url }),
      exportIntervalMillis: 3_600_000,
      metricProducers: [tributaryMetricProducer(env.metrics)],
    });
    const provider = new MeterProvider({ readers: [reader] });
    closers.push(() => provider.shutdown());

    const kept: number[] = [];
    env
      .fromCollection(Array.from({ length: 100 }, (_, i) => i))
      .map((n) => n * 2)
      .name('double')
      .filter((n) => n % 10 !== 0)
      .name('drop tens')
      .addSink((n) => void kept.push(n));
    const result = await env.execute('otel job');
    await reader.forceFlush();

    const metrics = receiver.metrics();
    const find = (name: string): ReceivedMetric => {
      const found = metrics.find((m) => m.name === name);
      if (found === undefined) throw new Error(`no metric ${name} among ${metrics.map((m) => m.name).join(', ')}`);
      return found;
    };
    const total = (name: string, operator: string) =>
      find(name)
        .points.filter((p) => p.attributes['operator'] === operator)
        .reduce((n, p) => n + (p.value ?? 0), 0);

    const recordsIn = find('tributary.operator.records_in');
    expect(recordsIn).toMatchObject({ unit: '{record}', type: 'sum', isMonotonic: true });
    expect(total('tributary.operator.records_in', 'double')).toBe(100);
    expect(total('tributary.operator.records_out', 'double')).toBe(100);
    expect(total('tributary.operator.records_in', 'drop tens')).toBe(100);
    expect(total('tributary.operator.records_out', 'drop tens')).toBe(kept.length);
    expect(kept).toHaveLength(80);
    expect(recordsIn.points.filter((p) => p.attributes['operator'] === 'double').map((p) => p.attributes).sort((a, b) => a['subtask']!.localeCompare(b['subtask']!))).toEqual([
      { job_name: 'otel job', job_id: result.jobId, operator: 'double', uid: '', subtask: '0' },
      { job_name: 'otel job', job_id: result.jobId, operator: 'double', uid: '', subtask: '1' },
    ]);

    // The final checkpoint: one completed, its size and duration as histograms in bytes and seconds.
    expect(find('tributary.checkpoints.completed').points.map((p) => [p.attributes, p.value])).toEqual([[{ job_name: 'otel job', job_id: result.jobId }, 1]]);
    const size = find('tributary.checkpoint.size');
    expect(size).toMatchObject({ unit: 'By', type: 'histogram' });
    const [sizePoint] = size.points;
    expect(sizePoint?.count).toBe(1);
    expect(sizePoint?.explicitBounds).toEqual(HISTOGRAM_BUCKETS.bytes);
    expect(sizePoint?.bucketCounts?.reduce((a, b) => a + b, 0)).toBe(1);
    expect(sizePoint?.sum).toBeGreaterThan(0);
    const duration = find('tributary.checkpoint.duration');
    expect(duration.unit).toBe('s');
    expect(duration.points[0]?.explicitBounds).toEqual(HISTOGRAM_BUCKETS.latencyMs.map((ms) => ms / 1000));
  });
});

describe('tributaryMetricProducer', () => {
  it('reports histograms per bucket in base units, and a gauge that throws as an error without losing the rest', async () => {
    const registry = new MetricRegistry();
    const group = registry.scopedGroup(['job', 'j', 'operator', 'embed', '0'], { job: 'j', operator: 'embed', subtask: '0' });
    const latency = group.histogram('callLatencyMs');
    for (const ms of [0.5, 3, 3, 40, 2000, 90_000]) latency.update(ms);
    group.gauge('bufferedRecords', () => {
      throw new Error('sensor gone');
    });
    group.counter('busyTimeMs').inc(1500);

    const { resourceMetrics, errors } = await tributaryMetricProducer(registry, { prefix: 'app' }).collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    // The gauge that throws leaves no metric behind, not even an empty one.
    expect(metrics.map((m) => [m.descriptor.name, m.descriptor.unit, m.dataPointType])).toEqual([
      ['app.async.call.duration', 's', DataPointType.HISTOGRAM],
      ['app.task.busy_time', 's', DataPointType.SUM],
    ]);
    const [histogram, busy] = metrics;
    expect(histogram?.dataPoints[0]?.value).toEqual({
      buckets: { boundaries: HISTOGRAM_BUCKETS.latencyMs.map((ms) => ms * 0.001), counts: [1, 0, 2, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] },
      sum: 92046.5 * 0.001,
      count: 6,
    });
    expect(busy?.dataPoints[0]?.value).toBe(1.5);
    expect(errors.map(String)).toEqual(["Error: Tributary metric 'job.j.operator.embed.0.bufferedRecords' could not be read: sensor gone"]);
  });

  it('reports, and leaves out, a second metric of one series and a name that is no instrument name without a prefix', async () => {
    const registry = new MetricRegistry();
    const group = registry.scopedGroup(['job', 'j', 'operator', 'parse', '0'], { job: 'j', operator: 'parse', subtask: '0' });
    group.counter('a-b').inc(2);
    group.counter('a_b').inc(4);
    group.addGroup('5xx').counter('count').inc(1);
    group.counter('ok').inc(3);
    // Up to 255 characters is an instrument name (the SDK's limit); beyond, it is reported as too long.
    group.counter(`l${'o'.repeat(254)}`).inc(5);
    group.counter(`l${'o'.repeat(255)}`).inc(6);
    const { resourceMetrics, errors } = await tributaryMetricProducer(registry, { prefix: '' }).collect();
    const points = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m.dataPoints.map((p) => p.value)]);
    // Two samples of one label set: Prometheus would refuse the scrape, other collectors keep one at random.
    expect(points).toEqual([
      ['a_b', [2]],
      ['ok', [3]],
      [`l${'o'.repeat(254)}`, [5]],
    ]);
    expect(errors.map(String)).toEqual([
      `Error: Tributary metrics 'job.j.operator.parse.0.a-b' and 'job.j.operator.parse.0.a_b' both map to the OpenTelemetry series a_b{"job_name":"j","operator":"parse","subtask":"0"}; rename one of them`,
      "Error: Tributary metric 'job.j.operator.parse.0.5xx.count' has no valid OpenTelemetry instrument name: '5xx.count' must start with a letter; give the option 'prefix'",
      `Error: Tributary metric 'job.j.operator.parse.0.l${'o'.repeat(255)}' has no valid OpenTelemetry instrument name: 'l${'o'.repeat(255)}' is longer than 255 characters`,
    ]);
  });

  it('starts every cumulative point where its metric began counting, the first one too', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(1_700_000_000_000);
      const registry = new MetricRegistry();
      registry.scopedGroup(['job', 'j'], { job: 'j' }).counter('numRecordsIn').inc(7);
      const producer = tributaryMetricProducer(registry);
      const times = async () => {
        const { resourceMetrics } = await producer.collect();
        const point = resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints[0];
        return [point?.startTime, point?.endTime];
      };
      vi.setSystemTime(1_700_000_005_000);
      expect(await times()).toEqual([
        [1_700_000_000, 0],
        [1_700_000_005, 0],
      ]);
      vi.setSystemTime(1_700_000_009_500);
      expect(await times()).toEqual([
        [1_700_000_000, 0],
        [1_700_000_009, 500_000_000],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects bad arguments, naming them', () => {
    expect(() => tributaryMetricProducer({} as MetricRegistry)).toThrow(InvalidJobError);
    expect(() => tributaryMetricProducer({} as MetricRegistry)).toThrow('registry must be a @tributary/core MetricRegistry');
    expect(() => tributaryMetricProducer(new MetricRegistry(), { prefix: '9x' })).toThrow("option 'prefix' must be '' or start like an OpenTelemetry instrument name");
    expect(() => tributaryMetricProducer(new MetricRegistry(), { prefx: 'a' } as never)).toThrow("unknown option 'prefx'; did you mean 'prefix'?");
  });
});
