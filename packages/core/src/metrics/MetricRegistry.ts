import { OptionChecker } from '../api/OptionChecker.js';
import { SystemClock, type Clock } from '../runtime/Clock.js';
import { Histogram, type HistogramOptions, type HistogramSnapshot } from './Histogram.js';

/** A monotonically increasing count. `count` is a plain field so hot paths can bump it cheaply. */
export class Counter {
  readonly kind = 'counter';
  count = 0;
  inc(n = 1): void {
    this.count += n;
  }

  /**
   * When `count` was taken where it is counted, for a counter mirrored from a task slot (the slot's wall clock, ms):
   * rates over such a counter divide by the time between its samples. Undefined for a counter counted in this thread,
   * and for a slot's once every task of the slot has ended (its count is final).
   */
  get sampledAt(): number | undefined {
    return undefined;
  }
}

/** A value read when metrics are reported. */
export class Gauge {
  readonly kind = 'gauge';
  constructor(public read: () => number) {}

  /**
   * The gauge's value, or NaN when its function throws (one that reads what
   * its operator's `close()` released) or returns no number: a metric never
   * fails the job it measures, nor a view that serializes it. A bigint is
   * read as the nearest number.
   */
  value(): number {
    try {
      return this.readNumber();
    } catch {
      return Number.NaN;
    }
  }

  /** The function's value as a number (see {@link value}); throws what the function throws, for exporters that report it. */
  readNumber(): number {
    const value: unknown = this.read();
    if (typeof value === 'number') return value;
    return typeof value === 'bigint' ? Number(value) : Number.NaN;
  }
}

export type Metric = Counter | Gauge | Histogram;
export type MetricValue = number | HistogramSnapshot;

/**
 * What identifies a metric besides its name (Flink's `MetricGroup.getAllVariables()`):
 * for an operator's metrics `job`, `job_id`, `operator`, `uid` (`''` without one)
 * and `subtask`; for a job's checkpoint metrics `job` and `job_id`.
 */
export type MetricVariables = Readonly<Record<string, string>>;

/** One registered metric, as exporters read it. */
export interface MetricEntry {
  /** The readable id: scope and name joined by dots, e.g. `job.wc.operator.Map.0.numRecordsIn`. Not unique across runs of one job name. */
  readonly id: string;
  /** The metric's name below its variables: `numRecordsIn`, or `http.calls` when registered in `addGroup('http')`. */
  readonly name: string;
  readonly variables: MetricVariables;
  readonly metric: Metric;
  /** When it was registered, by the registry's clock (the wall clock by default): where its counts began, the start of its cumulative points in exporters. */
  readonly registeredAt: number;
}

/**
 * A scope of metrics. Groups the runtime hands to operators carry the job,
 * operator and subtask as {@link MetricVariables}; `addGroup` names a nested
 * group, whose name becomes part of its metrics' names. Registering the same
 * name twice in one group returns the existing metric.
 */
export class MetricGroup {
  constructor(
    private readonly registry: MetricRegistry,
    /** The readable prefix of its metrics' ids, e.g. `['job', 'wc', 'operator', 'Map', '0']`. */
    readonly scope: readonly string[],
    readonly variables: MetricVariables = {},
    /** The groups added below the variables, which prefix each metric's name. */
    private readonly path: readonly string[] = scope,
  ) {}

  /** A child group, e.g. `group.addGroup('http').counter('calls')` registers `http.calls`. */
  addGroup(...names: string[]): MetricGroup {
    return new MetricGroup(this.registry, [...this.scope, ...names], this.variables, [...this.path, ...names]);
  }

  counter(name: string): Counter {
    return this.registry.register(this.entry(name, () => new Counter()), 'counter');
  }

  /** Registering it again (a restarted job's next attempt) makes it read the new `read`, not the ended attempt's objects. */
  gauge(name: string, read: () => number): Gauge {
    // Checked before registering: a gauge without a function reports NaN for as long as it lives.
    new OptionChecker(`gauge '${name}'`).func('read', read);
    const gauge = this.registry.register(this.entry(name, () => new Gauge(read)), 'gauge');
    gauge.read = read;
    return gauge;
  }

  /** A histogram; `options` is its window size, or window size and buckets (see {@link HistogramOptions}). */
  histogram(name: string, options?: number | HistogramOptions): Histogram {
    return this.registry.register(this.entry(name, () => new Histogram(options)), 'histogram');
  }

  private entry<M extends Metric>(name: string, create: () => M): { id: string; name: string; variables: MetricVariables; create: () => M } {
    return { id: [...this.scope, name].join('.'), name: [...this.path, name].join('.'), variables: this.variables, create };
  }
}

/** Holds every metric of a job; exporters (e.g. `@tributary/prometheus`) read it. */
export class MetricRegistry {
  /** Keyed by id and variables: two runs of one job name register apart (their `job_id` differs); a run that ends drops those of its name's earlier ended run. */
  private readonly metrics = new Map<string, MetricEntry>();

  /** `clock` stamps each metric's `registeredAt`: the wall clock, as exporters publish wall times. */
  constructor(private readonly clock: Clock = new SystemClock()) {}

  /** A root group without variables; its scope is part of its metrics' names (`group('app').counter('x')` is `app.x`). */
  group(...scope: string[]): MetricGroup {
    return new MetricGroup(this, scope);
  }

  /** A root group whose metrics are told apart by `variables`; `scope` only forms their readable ids. */
  scopedGroup(scope: readonly string[], variables: MetricVariables): MetricGroup {
    return new MetricGroup(this, scope, variables, []);
  }

  /** @internal */
  register<M extends Metric>(
    entry: { readonly id: string; readonly name: string; readonly variables: MetricVariables; readonly create: () => M },
    kind: M['kind'],
  ): M {
    const key = `${entry.id}\u0000${JSON.stringify(entry.variables)}`;
    const existing = this.metrics.get(key);
    if (existing !== undefined) {
      if (existing.metric.kind !== kind) {
        throw new Error(`Metric '${entry.id}' is already registered as a ${existing.metric.kind}, not a ${kind}`);
      }
      return existing.metric as M;
    }
    const metric = entry.create();
    this.metrics.set(key, { id: entry.id, name: entry.name, variables: entry.variables, metric, registeredAt: this.clock.now() });
    return metric;
  }

  /** Every metric with its identity, in registration order. */
  entries(): IterableIterator<MetricEntry> {
    return this.metrics.values();
  }

  /**
   * Current values by id: counters and gauges as numbers, histograms as
   * snapshots. With `where`, only metrics whose variables include it (e.g.
   * `{ job_id }` for one run); without, a later run of a job name shows over an
   * earlier one.
   */
  snapshot(where: MetricVariables = {}): Record<string, MetricValue> {
    const out: Record<string, MetricValue> = {};
    const conditions = Object.entries(where);
    for (const { id, variables, metric } of this.metrics.values()) {
      if (conditions.some(([k, v]) => variables[k] !== v)) continue;
      out[id] = metric.kind === 'counter' ? metric.count : metric.kind === 'gauge' ? metric.value() : metric.snapshot();
    }
    return out;
  }

  /**
   * Drops the metrics whose variables include `where` (`{ job_id }`: one run's), so that exporters stop
   * publishing them; returns how many. A run of a job, as it ends, drops those of the run of its name that ended before.
   */
  remove(where: MetricVariables): number {
    const conditions = Object.entries(where);
    let removed = 0;
    for (const [key, { variables }] of this.metrics) {
      if (conditions.some(([k, v]) => variables[k] !== v)) continue;
      this.metrics.delete(key);
      removed++;
    }
    return removed;
  }
}
