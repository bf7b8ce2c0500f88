import { Histogram, type HistogramSnapshot } from './Histogram.js';

/** A monotonically increasing count. `count` is a plain field so hot paths can bump it cheaply. */
export class Counter {
  readonly kind = 'counter';
  count = 0;
  inc(n = 1): void {
    this.count += n;
  }
}

/** A value read when metrics are reported. */
export class Gauge {
  readonly kind = 'gauge';
  constructor(readonly read: () => number) {}
}

export type Metric = Counter | Gauge | Histogram;
export type MetricValue = number | HistogramSnapshot;

/**
 * A named scope of metrics: `job.<name>.operator.<name>.<subtask>`.
 * Registering the same name twice in one group returns the existing metric.
 */
export class MetricGroup {
  constructor(
    private readonly registry: MetricRegistry,
    readonly scope: readonly string[],
  ) {}

  /** A child group, e.g. `group.addGroup('operator', 'embed')`. */
  addGroup(...names: string[]): MetricGroup {
    return new MetricGroup(this.registry, [...this.scope, ...names]);
  }

  counter(name: string): Counter {
    return this.registry.register(this.id(name), () => new Counter(), 'counter');
  }

  gauge(name: string, read: () => number): Gauge {
    return this.registry.register(this.id(name), () => new Gauge(read), 'gauge');
  }

  histogram(name: string, windowSize?: number): Histogram {
    return this.registry.register(this.id(name), () => new Histogram(windowSize), 'histogram');
  }

  private id(name: string): string {
    return [...this.scope, name].join('.');
  }
}

/** Holds every metric of a job; exporters (e.g. `@tributary/prometheus`) read it. */
export class MetricRegistry {
  private readonly metrics = new Map<string, Metric>();

  /** The root group of this registry. */
  group(...scope: string[]): MetricGroup {
    return new MetricGroup(this, scope);
  }

  /** @internal */
  register<M extends Metric>(id: string, create: () => M, kind: M['kind']): M {
    const existing = this.metrics.get(id);
    if (existing !== undefined) {
      if (existing.kind !== kind) {
        throw new Error(`Metric '${id}' is already registered as a ${existing.kind}, not a ${kind}`);
      }
      return existing as M;
    }
    const metric = create();
    this.metrics.set(id, metric);
    return metric;
  }

  /** Every metric by id, in registration order. */
  entries(): IterableIterator<[string, Metric]> {
    return this.metrics.entries();
  }

  /** Current values: counters and gauges as numbers, histograms as snapshots. */
  snapshot(): Record<string, MetricValue> {
    const out: Record<string, MetricValue> = {};
    for (const [id, metric] of this.metrics) {
      out[id] = metric.kind === 'counter' ? metric.count : metric.kind === 'gauge' ? metric.read() : metric.snapshot();
    }
    return out;
  }
}
