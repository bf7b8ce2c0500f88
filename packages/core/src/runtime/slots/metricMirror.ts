import { Histogram, type HistogramSnapshot, type HistogramTotals } from '../../metrics/Histogram.js';
import { Counter, Gauge, type MetricRegistry } from '../../metrics/MetricRegistry.js';
import type { MetricSample } from './hostMessages.js';

/** A slot's metrics as plain values, to send to the main thread. */
export function sampleMetrics(registry: MetricRegistry): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const { id, name, variables, metric } of registry.entries()) {
    const value: MetricSample['value'] =
      metric.kind === 'histogram'
        ? { kind: 'histogram', snapshot: metric.snapshot(), totals: metric.totals() }
        : { kind: metric.kind, value: metric.kind === 'counter' ? metric.count : metric.read() };
    samples.push({ id, name, variables, value });
  }
  return samples;
}

/** A histogram that reports what a slot's histogram last reported. */
class MirroredHistogram extends Histogram {
  constructor(
    private latest: HistogramSnapshot,
    private latestTotals: HistogramTotals,
  ) {
    super({ buckets: latestTotals.buckets.slice(0, -1).map((b) => b.le) });
  }

  set(snapshot: HistogramSnapshot, totals: HistogramTotals): void {
    this.latest = snapshot;
    this.latestTotals = totals;
  }

  override get count(): number {
    return this.latest.count;
  }

  override get mean(): number {
    return this.latest.mean;
  }

  override snapshot(): HistogramSnapshot {
    return this.latest;
  }

  override totals(): HistogramTotals {
    return this.latestTotals;
  }
}

/**
 * The slots' metrics in the job's registry, under the ids and variables they
 * would have in one thread: each sample updates (or first registers) its
 * metric there, so exporters and the job's result read them as usual.
 */
export class MetricMirror {
  private readonly gauges = new Map<Gauge, number>();

  constructor(private readonly registry: MetricRegistry) {}

  apply(samples: readonly MetricSample[]): void {
    for (const { id, name, variables, value } of samples) {
      switch (value.kind) {
        case 'counter':
          this.registry.register({ id, name, variables, create: () => new Counter() }, 'counter').count = value.value;
          break;
        case 'gauge': {
          const gauge: Gauge = this.registry.register({ id, name, variables, create: (): Gauge => new Gauge(() => this.gauges.get(gauge) ?? 0) }, 'gauge');
          this.gauges.set(gauge, value.value);
          break;
        }
        case 'histogram': {
          const histogram = this.registry.register(
            { id, name, variables, create: () => new MirroredHistogram(value.snapshot, value.totals) },
            'histogram',
          );
          if (histogram instanceof MirroredHistogram) histogram.set(value.snapshot, value.totals);
          break;
        }
      }
    }
  }
}
