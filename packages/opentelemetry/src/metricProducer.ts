import { ValueType, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricProducer,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describeMetric, describeValue, exportedVariables, messageOf, OptionChecker, type HistogramTotals, type MetricEntry, type MetricRegistry } from '@tributary/core';

/** Options of {@link tributaryMetricProducer}. */
export interface OpenTelemetryExportOptions {
  /** First part of every metric name (`tributary.operator.records_in`); `''` for none. Default `'tributary'`. */
  readonly prefix?: string;
}

const OPTIONS = ['prefix'];
/** OpenTelemetry's instrument name syntax (at most 255 characters); a prefix is the start of one. */
const INSTRUMENT_NAME = /^[a-zA-Z][a-zA-Z0-9_.\-/]{0,254}$/;
const SCOPE = { name: '@tributary/opentelemetry' };
// The SDK keeps its own resource and drops the one a producer returns (see `MetricReaderOptions.metricProducers`).
const IGNORED_RESOURCE = {} as ResourceMetrics['resource'];

type Kind = MetricEntry['metric']['kind'];

/**
 * An OpenTelemetry `MetricProducer` that reads a Tributary {@link MetricRegistry}
 * at every collection: give it to a metric reader's `metricProducers`, and
 * whatever the reader exports to (OTLP push, the OpenTelemetry Prometheus
 * exporter's pull) gets Tributary's metrics.
 *
 * Details:
 * - Names are the published names of `describeMetric` (from `@tributary/core`)
 *   after the prefix, e.g. `tributary.async.call.duration` with unit `s`,
 *   `tributary.operator.records_in` with unit `{record}`; values kept in
 *   milliseconds are reported in seconds.
 * - Counters are monotonic cumulative sums, gauges are gauges, and histograms
 *   are explicit-bucket histograms (buckets, sum and count of every update),
 *   all cumulative. Attributes are the metric's variables: `job_name`, `job_id`,
 *   `operator`, `uid`, `subtask` for operator metrics (the job's name is
 *   `job_name`, not `job`, which Prometheus keeps for its scrape job).
 * - A metric left out of a collection has its error reported in the
 *   collection's `errors` (the SDK logs them): a gauge whose callback throws,
 *   a name that is no valid instrument name (with `prefix: ''`), and a second
 *   metric of one series (names that differ only in characters that become
 *   `_`, as `a-b` and `a_b`).
 *
 * @example
 * ```ts
 * import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
 * import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
 * import { StreamExecutionEnvironment } from '@tributary/core';
 * import { tributaryMetricProducer } from '@tributary/opentelemetry';
 *
 * const env = StreamExecutionEnvironment.create();
 * const reader = new PeriodicExportingMetricReader({
 *   exporter: new OTLPMetricExporter(),
 *   metricProducers: [tributaryMetricProducer(env.metrics)],
 * });
 * const provider = new MeterProvider({ readers: [reader] });
 * ```
 */
export function tributaryMetricProducer(registry: MetricRegistry, options: OpenTelemetryExportOptions = {}): MetricProducer {
  const check = new OptionChecker('tributaryMetricProducer()');
  check.known(check.object(options), OPTIONS);
  if (typeof (registry as Partial<MetricRegistry> | undefined)?.entries !== 'function') {
    check.fail('registry must be a @tributary/core MetricRegistry (e.g. env.metrics)');
  }
  const prefix = options.prefix ?? 'tributary';
  if (typeof prefix !== 'string' || (prefix !== '' && !INSTRUMENT_NAME.test(prefix))) {
    check.fail(`option 'prefix' must be '' or start like an OpenTelemetry instrument name (a letter, then letters, digits, '_', '.', '-', '/'), got ${describeValue(prefix)}`);
  }
  return new RegistryProducer(registry, prefix);
}

class RegistryProducer implements MetricProducer {
  constructor(
    private readonly registry: MetricRegistry,
    private readonly prefix: string,
  ) {}

  collect(): Promise<CollectionResult> {
    const nowMs = Date.now();
    const now = hrTime(nowMs);
    const errors: unknown[] = [];
    const metrics = new Map<string, MetricData & { dataPoints: DataPoint<unknown>[] }>();
    /** The entry behind each series (a name and its attributes): two would make a collector drop or double one. */
    const series = new Map<string, string>();
    for (const entry of this.registry.entries()) {
      const described = describeMetric(entry.name, entry.metric);
      const base = this.prefix === '' ? described.name : `${this.prefix}.${described.name}`;
      // Without a prefix a metric's own name comes first, and may start with a digit or '_' (`addGroup('5xx')`).
      if (!INSTRUMENT_NAME.test(base)) {
        const why = base.length > 255 ? `'${base}' is longer than 255 characters` : `'${base}' must start with a letter; give the option 'prefix'`;
        errors.push(new Error(`Tributary metric '${entry.id}' has no valid OpenTelemetry instrument name: ${why}`));
        continue;
      }
      const metric = entry.metric;
      let value;
      try {
        value = metric.kind === 'counter' ? metric.count * described.scale : metric.kind === 'gauge' ? metric.readNumber() * described.scale : histogram(metric.totals(), described.scale);
      } catch (error) {
        errors.push(new Error(`Tributary metric '${entry.id}' could not be read: ${messageOf(error)}`, { cause: error }));
        continue;
      }
      const data = this.dataFor(metrics, metric.kind, base, described);
      const attributes = { ...exportedVariables(entry.variables) };
      const key = `${data.descriptor.name}\u0000${JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
      const clash = series.get(key);
      if (clash !== undefined) {
        errors.push(new Error(`Tributary metrics '${clash}' and '${entry.id}' both map to the OpenTelemetry series ${data.descriptor.name}${JSON.stringify(attributes)}; rename one of them`));
        continue;
      }
      series.set(key, entry.id);
      // Cumulative points start where the metric began counting; a clock stepped back must not put the start after the point.
      data.dataPoints.push({ startTime: hrTime(Math.min(entry.registeredAt, nowMs)), endTime: now, attributes, value });
    }
    const resourceMetrics = { resource: IGNORED_RESOURCE, scopeMetrics: [{ scope: SCOPE, metrics: [...metrics.values()] }] };
    return Promise.resolve({ resourceMetrics, errors });
  }

  /** The metric data a point joins: one per name; a name taken by another kind gets the kind appended. */
  private dataFor(
    metrics: Map<string, MetricData & { dataPoints: DataPoint<unknown>[] }>,
    kind: Kind,
    base: string,
    described: ReturnType<typeof describeMetric>,
  ): MetricData & { dataPoints: DataPoint<unknown>[] } {
    for (const name of [base, `${base}.${kind}`]) {
      const existing = metrics.get(name);
      if (existing !== undefined && kindOf(existing) !== kind) continue;
      if (existing !== undefined) return existing;
      const descriptor = {
        name,
        description: described.help,
        unit: described.unit,
        valueType: kind === 'counter' && described.scale === 1 ? ValueType.INT : ValueType.DOUBLE,
      };
      const data =
        kind === 'counter'
          ? { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM as const, dataPoints: [], isMonotonic: true }
          : kind === 'gauge'
            ? { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE as const, dataPoints: [] }
            : { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM as const, dataPoints: [] };
      metrics.set(name, data);
      return data;
    }
    throw new Error(`OpenTelemetry names '${base}' and '${base}.${kind}' are both taken by other Tributary metrics`);
  }
}

function kindOf(data: MetricData): Kind {
  return data.dataPointType === DataPointType.SUM ? 'counter' : data.dataPointType === DataPointType.GAUGE ? 'gauge' : 'histogram';
}

/** OpenTelemetry counts per bucket, where Tributary's totals are cumulative. */
function histogram(totals: HistogramTotals, scale: number) {
  const finite = totals.buckets.slice(0, -1);
  return {
    buckets: {
      boundaries: finite.map((b) => b.le * scale),
      counts: totals.buckets.map((b, i) => b.count - (totals.buckets[i - 1]?.count ?? 0)),
    },
    sum: totals.sum * scale,
    count: totals.count,
  };
}

function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}
