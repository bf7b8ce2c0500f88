import { OptionChecker, type HistogramTotals, type MetricEntry, type MetricRegistry } from '@tributary/core';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { BucketHistogram } from './BucketHistogram.js';
import { checkPrefix, seriesOf } from './metricNames.js';

/** Options of {@link toPrometheusRegistry} and {@link startMetricsServer}. */
export interface PrometheusExportOptions {
  /** Prefix of every exported metric name; `''` for none. Default `'tributary'`. */
  readonly prefix?: string;
  /**
   * Also export prom-client's default Node.js process metrics (CPU, memory,
   * event loop lag, GC; names `process_*` and `nodejs_*`). Default `false`.
   */
  readonly processMetrics?: boolean;
}

/**
 * A prom-client `Registry` that shows the current values of a Tributary
 * {@link MetricRegistry} whenever it is read.
 *
 * Details:
 * - Names follow the Prometheus conventions: snake_case with the base unit
 *   (`tributary_async_call_duration_seconds`, `tributary_checkpoint_size_bytes`),
 *   `_total` for counters; values kept in milliseconds are published in seconds.
 *   Histograms become Prometheus histograms (`_bucket{le}`, `_sum`, `_count` over
 *   every update, so they aggregate across subtasks). Labels are the metric's
 *   variables: `job_name`, `job_id`, `operator`, `uid`, `subtask` for operator
 *   metrics (`job_name`, as Prometheus keeps `job` for its scrape job). See
 *   {@link toPrometheusSeries} and the package README for the list.
 * - A gauge whose callback throws reads NaN, so the other metrics still show.
 * - Values are read at scrape time through prom-client collectors; nothing is
 *   copied in between. Metrics registered after this call (a job started later)
 *   appear on the next read.
 * - `metrics()`, `getMetricsAsJSON()` and `Registry.merge([...])` see the live
 *   values; the returned registry is an ordinary prom-client registry, so you can
 *   register your own prom-client metrics on it too.
 *
 * Gotchas:
 * - Two metrics of different kinds that map to one name (a gauge `latency` in one
 *   operator, a histogram `latency` in another) cannot share a Prometheus family:
 *   the one registered later gets its kind appended (`latency_histogram`).
 * - Two metrics of one operator subtask whose names differ only in characters
 *   Prometheus does not allow (`a-b`, `a_b`) would be one series: reading the
 *   registry throws an error naming both.
 * - `Registry.merge([...])` takes the returned registry's metric list once, at
 *   the merge: a metric name first seen after it (an operator of a job started
 *   later) is missing from the merged registry, though new series of names
 *   already there (another subtask, another job) do appear. Merge after your
 *   jobs have started, or serve the returned registry itself.
 *
 * @example
 * ```ts
 * import { StreamExecutionEnvironment } from '@tributary/core';
 * import { toPrometheusRegistry } from '@tributary/prometheus';
 *
 * const env = StreamExecutionEnvironment.create();
 * const prometheus = toPrometheusRegistry(env.metrics);
 * // in your own HTTP handler:
 * // res.setHeader('content-type', prometheus.contentType);
 * // res.end(await prometheus.metrics());
 * ```
 */
export function toPrometheusRegistry(registry: MetricRegistry, options: PrometheusExportOptions = {}): Registry {
  const check = new OptionChecker('toPrometheusRegistry()');
  check.known(check.object(options), EXPORT_OPTIONS);
  return exportRegistry(check, registry, options);
}

/** The names of {@link PrometheusExportOptions}. */
export const EXPORT_OPTIONS: readonly string[] = ['prefix', 'processMetrics'];

/** {@link toPrometheusRegistry} with the options checked by `check` (whose owner names the caller). */
export function exportRegistry(check: OptionChecker, registry: MetricRegistry, options: PrometheusExportOptions): Registry {
  if (typeof (registry as Partial<MetricRegistry> | undefined)?.entries !== 'function') {
    check.fail('registry must be a @tributary/core MetricRegistry (e.g. env.metrics)');
  }
  const prefix = checkPrefix(check, options.prefix ?? 'tributary');
  const prometheus = new TributaryRegistry(registry, prefix);
  if (check.optionalBoolean('processMetrics', options.processMetrics) === true) collectDefaultMetrics({ register: prometheus });
  return prometheus;
}

type FamilyKind = 'counter' | 'gauge' | 'histogram';
type Labels = Readonly<Record<string, string>>;

interface Series<TValue> {
  readonly id: string;
  readonly labels: Labels;
  readonly read: () => TValue;
  readonly scale: number;
}

/** One Prometheus metric family and the Tributary metrics that make up its series. */
class Family<TValue> {
  /** The series by label values: two metrics mapping to one series are caught in `add`. */
  private readonly byLabels = new Map<string, Series<TValue>>();

  constructor(
    readonly name: string,
    readonly kind: FamilyKind,
    readonly labelNames: readonly string[],
    /** Told when its last series is removed. */
    private readonly onEmpty: () => void,
  ) {}

  /** Sample names this family writes besides its own name. */
  static reservedSuffixes(kind: FamilyKind): readonly string[] {
    return kind === 'histogram' ? ['_bucket', '_sum', '_count'] : [];
  }

  fits(kind: FamilyKind, labelNames: readonly string[]): boolean {
    return this.kind === kind && this.labelNames.join() === labelNames.join();
  }

  /** Every series, in the order they were added. */
  get series(): Iterable<Series<TValue>> {
    return this.byLabels.values();
  }

  /** Adds a series; returns what removes it. */
  add(series: Series<TValue>): () => void {
    const key = JSON.stringify(this.labelNames.map((l) => series.labels[l]));
    const clash = this.byLabels.get(key);
    if (clash !== undefined) {
      throw new Error(
        `Tributary metrics '${clash.id}' and '${series.id}' both map to the Prometheus series ${this.name}${JSON.stringify(series.labels)}; rename one of them`,
      );
    }
    this.byLabels.set(key, series);
    return () => {
      this.byLabels.delete(key);
      if (this.byLabels.size === 0) this.onEmpty();
    };
  }
}

class TributaryRegistry extends Registry {
  /** Every name a family owns (its own and reserved sample names) to that family. */
  private readonly names = new Map<string, Family<number> | Family<HistogramTotals>>();
  /** The Tributary metrics exported, each with what removes its series. */
  private readonly bound = new Map<MetricEntry, () => void>();

  constructor(
    private readonly source: MetricRegistry,
    private readonly prefix: string,
  ) {
    super();
  }

  /** prom-client reads its metric list here before every exposition, so new Tributary metrics join first. */
  override getMetricsAsArray(): ReturnType<Registry['getMetricsAsArray']> {
    const present = new Set<MetricEntry>();
    for (const entry of this.source.entries()) {
      present.add(entry);
      if (!this.bound.has(entry)) this.bound.set(entry, this.bind(entry));
    }
    // Metrics the registry dropped (an ended run's, once a later run of its job started) leave the exposition.
    for (const [entry, unbind] of this.bound) {
      if (present.has(entry)) continue;
      unbind();
      this.bound.delete(entry);
    }
    return super.getMetricsAsArray();
  }

  /** Also forgets the Tributary bindings, so the next read registers every Tributary metric again. */
  override clear(): void {
    super.clear();
    this.names.clear();
    this.bound.clear();
  }

  /** Adds the entry's series to its family; returns what removes it. */
  private bind(entry: MetricEntry): () => void {
    const { name, labels, scale, help } = seriesOf(entry, this.prefix);
    const labelNames = Object.keys(labels);
    const { id, metric } = entry;
    switch (metric.kind) {
      case 'counter':
        return this.family(name, 'counter', labelNames, help).add({ id, labels, scale, read: () => metric.count * scale });
      case 'gauge':
        // A gauge that throws reads NaN: one broken series, not a failed scrape of every job's metrics.
        return this.family(name, 'gauge', labelNames, help).add({ id, labels, scale, read: () => metric.value() * scale });
      case 'histogram':
        return this.family(name, 'histogram', labelNames, help).add({ id, labels, scale, read: () => metric.totals() });
    }
  }

  /** A family whose series have all ended leaves the exposition: no `# HELP` and `# TYPE` lines without samples. */
  private drop(family: Family<number> | Family<HistogramTotals>): void {
    this.removeSingleMetric(family.name);
    for (const [name, owner] of this.names) if (owner === family) this.names.delete(name);
  }

  private family(base: string, kind: 'histogram', labelNames: readonly string[], help: string): Family<HistogramTotals>;
  private family(base: string, kind: 'counter' | 'gauge', labelNames: readonly string[], help: string): Family<number>;
  private family(
    base: string,
    kind: FamilyKind,
    labelNames: readonly string[],
    help: string,
  ): Family<number> | Family<HistogramTotals> {
    for (const candidate of [base, `${base}_${kind}`]) {
      const name = kind === 'counter' ? `${candidate}_total` : candidate;
      const existing = this.names.get(name);
      if (existing?.name === name && existing.fits(kind, labelNames)) return existing;
      const owned = [name, ...Family.reservedSuffixes(kind).map((s) => name + s)];
      if (owned.every((n) => !this.names.has(n) && this.getSingleMetric(n) === undefined)) {
        const family = this.create(name, kind, labelNames, help);
        for (const n of owned) this.names.set(n, family);
        return family;
      }
    }
    throw new Error(`Prometheus names '${base}' and '${base}_${kind}' are both taken by other metrics`);
  }

  private create(name: string, kind: FamilyKind, labelNames: readonly string[], help: string): Family<number> | Family<HistogramTotals> {
    const config = { name, help, labelNames, registers: [] };
    if (kind === 'histogram') {
      const family: Family<HistogramTotals> = new Family<HistogramTotals>(name, kind, labelNames, () => this.drop(family));
      this.registerMetric(new BucketHistogram(config, () => family.series));
      return family;
    }
    const family: Family<number> = new Family<number>(name, kind, labelNames, () => this.drop(family));
    // Reset then set on every read: the Tributary metric is the only source of truth.
    if (kind === 'counter') {
      this.registerMetric(
        new Counter({
          ...config,
          collect() {
            this.reset();
            for (const s of family.series) this.inc(s.labels, s.read());
          },
        }),
      );
    } else {
      this.registerMetric(
        new Gauge({
          ...config,
          collect() {
            this.reset();
            for (const s of family.series) this.set(s.labels, s.read());
          },
        }),
      );
    }
    return family;
  }
}
