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
        : { kind: metric.kind, value: metric.kind === 'counter' ? metric.count : metric.value() };
    samples.push({ id, name, variables, value });
  }
  return samples;
}

/** A counter that holds what a slot's counter last reported (on top of earlier attempts), and when the slot took it. */
class MirroredCounter extends Counter {
  at: number | undefined = undefined;

  override get sampledAt(): number | undefined {
    return this.at;
  }
}

/** A gauge that reads what a slot's gauge last reported. */
class MirroredGauge extends Gauge {
  latest = 0;

  constructor() {
    super(() => this.latest);
  }
}

/**
 * A histogram that reports what a slot's histogram last reported, on top of
 * what the slots of earlier attempts reported: totals and counts add up over
 * restarts, as they do in one thread; the window statistics are the latest.
 */
class MirroredHistogram extends Histogram {
  private earlier: HistogramTotals | undefined = undefined;

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

  /** A new attempt's slot reports from now on, from zero: what was reported so far stays. */
  carryOver(): void {
    this.earlier = this.totals();
    this.latestTotals = { count: 0, sum: 0, buckets: this.earlier.buckets.map(({ le }) => ({ le, count: 0 })) };
    this.latest = { ...this.latest, count: 0 };
  }

  override get count(): number {
    return (this.earlier?.count ?? 0) + this.latest.count;
  }

  override get mean(): number {
    return this.latest.mean;
  }

  override snapshot(): HistogramSnapshot {
    return { ...this.latest, count: this.count };
  }

  override totals(): HistogramTotals {
    const earlier = this.earlier;
    if (earlier === undefined) return this.latestTotals;
    const latest = this.latestTotals;
    return {
      count: earlier.count + latest.count,
      sum: earlier.sum + latest.sum,
      buckets: latest.buckets.map(({ le, count }, i) => ({ le, count: count + (earlier.buckets[i]?.count ?? 0) })),
    };
  }
}

/**
 * The slots' metrics in the job's registry, under the ids and variables they
 * would have in one thread: each sample updates (or first registers) its
 * metric there, so exporters and the job's result read them as usual. One
 * mirror serves one attempt, whose slots count from zero: its counters and
 * histograms add to what earlier attempts left in the registry.
 */
export class MetricMirror {
  /** Each counter's value when this attempt's first sample of it came. */
  private readonly counterBase = new Map<Counter, number>();
  /** The histograms this attempt reports into: those an earlier attempt made carry its values over first. */
  private readonly carried = new Set<MirroredHistogram>();

  constructor(private readonly registry: MetricRegistry) {}

  /**
   * Takes one slot's samples, taken at `at` by its clock. `final` when every task of the slot has ended: its counts
   * are final, so they count as current from then on (`sampledAt` undefined), and their rates fall to 0.
   */
  apply(samples: readonly MetricSample[], at: number, final = false): void {
    for (const { id, name, variables, value } of samples) {
      switch (value.kind) {
        case 'counter': {
          const counter = this.registry.register({ id, name, variables, create: (): Counter => new MirroredCounter() }, 'counter');
          let base = this.counterBase.get(counter);
          if (base === undefined) this.counterBase.set(counter, (base = counter.count));
          counter.count = base + value.value;
          if (counter instanceof MirroredCounter) counter.at = final ? undefined : at;
          break;
        }
        case 'gauge': {
          // The value lives on the gauge, not in this mirror: a restart's new mirror updates the gauge the first one made.
          const gauge = this.registry.register({ id, name, variables, create: (): Gauge => new MirroredGauge() }, 'gauge');
          if (gauge instanceof MirroredGauge) gauge.latest = value.value;
          break;
        }
        case 'histogram': {
          const histogram = this.registry.register(
            {
              id,
              name,
              variables,
              create: () => {
                const created = new MirroredHistogram(value.snapshot, value.totals);
                this.carried.add(created);
                return created;
              },
            },
            'histogram',
          );
          if (histogram instanceof MirroredHistogram) {
            if (!this.carried.has(histogram)) {
              this.carried.add(histogram);
              // Registered by an earlier attempt's mirror: this attempt's values come on top of its.
              histogram.carryOver();
            }
            histogram.set(value.snapshot, value.totals);
          }
          break;
        }
      }
    }
  }
}
