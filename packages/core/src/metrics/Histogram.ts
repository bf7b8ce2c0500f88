import { describeValue, OptionChecker } from '../api/OptionChecker.js';

/** What a histogram reports: count of all updates and statistics over the recent window. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * Every update since the histogram was created, Prometheus-style: how many values
 * fell at or below each bucket's upper bound `le` (cumulative, the last bucket is
 * `+Infinity` and equals `count`), their `sum` and `count`. Unlike the window
 * statistics, these add up across subtasks and over time.
 */
export interface HistogramTotals {
  readonly count: number;
  readonly sum: number;
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
}

/** Options of a {@link Histogram}. */
export interface HistogramOptions {
  /** Values the window statistics (`snapshot()`) are computed over. Default 1024. */
  readonly windowSize?: number;
  /** Upper bounds of the cumulative buckets, strictly increasing, in the histogram's own unit. Default {@link HISTOGRAM_BUCKETS}`.latencyMs`. */
  readonly buckets?: readonly number[];
}

const HISTOGRAM_OPTIONS = ['windowSize', 'buckets'];

/** Bucket bounds for the histograms Tributary registers, each in the unit its metric name says. */
export const HISTOGRAM_BUCKETS = {
  /** 1 ms to 60 s: service calls, queue waits, checkpoints. */
  latencyMs: [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000],
  /** Powers of two from 1 to 4096: records per batch, batch weights. */
  count: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
  /** Powers of four from 1 KiB to 1 GiB: checkpoint sizes. */
  bytes: [1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456, 1_073_741_824],
} as const satisfies Record<string, readonly number[]>;

/**
 * A histogram over the most recent `windowSize` values (Flink's
 * `DescriptiveStatisticsHistogram`): percentiles describe current behaviour
 * rather than the whole run, and memory stays fixed. It also keeps cumulative
 * bucket counts and the sum of every update ({@link HistogramTotals}), which
 * exporters publish as Prometheus / OpenTelemetry histograms.
 */
export class Histogram {
  readonly kind = 'histogram';
  /** Upper bounds of the buckets, without the implicit `+Infinity`. */
  readonly bounds: readonly number[];
  private readonly window: Float64Array;
  /** Updates per bucket (not cumulative); index `bounds.length` holds the values above every bound. */
  private readonly inBucket: Float64Array;
  private next = 0;
  private filled = 0;
  private total = 0;
  private sum = 0;

  constructor(options: number | HistogramOptions = {}) {
    const check = new OptionChecker('Histogram');
    // A misspelled name or a string would otherwise leave the default buckets in place, silently.
    if (typeof options !== 'number' && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      check.fail(`options must be a window size or an options object, got ${describeValue(options)}`);
    }
    if (typeof options === 'object') check.known(options as Record<string, unknown>, HISTOGRAM_OPTIONS);
    const { windowSize = 1024, buckets = HISTOGRAM_BUCKETS.latencyMs } = typeof options === 'number' ? { windowSize: options } : options;
    if (!Array.isArray(buckets) || buckets.some((b) => typeof b !== 'number')) {
      check.fail(`option 'buckets' must be an array of numbers, got ${describeValue(buckets)}`);
    }
    if (!Number.isInteger(windowSize) || windowSize < 1) {
      throw new RangeError(`Histogram windowSize must be a positive integer, got ${windowSize}`);
    }
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number)))) {
      throw new RangeError(`Histogram buckets must be finite and strictly increasing, got [${buckets.join(', ')}]`);
    }
    this.window = new Float64Array(windowSize);
    this.bounds = [...buckets];
    this.inBucket = new Float64Array(buckets.length + 1);
  }

  update(value: number): void {
    this.window[this.next] = value;
    this.next = (this.next + 1) % this.window.length;
    if (this.filled < this.window.length) this.filled++;
    this.total++;
    this.sum += value;
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    (this.inBucket[i] as number)++;
  }

  get count(): number {
    return this.total;
  }

  /** The mean of the values in the window (`snapshot().mean`), without copying or sorting them. */
  get mean(): number {
    if (this.filled === 0) return 0;
    let sum = 0;
    for (let i = 0; i < this.filled; i++) sum += this.window[i] as number;
    return sum / this.filled;
  }

  snapshot(): HistogramSnapshot {
    if (this.filled === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 };
    const sorted = this.window.slice(0, this.filled).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
    return {
      count: this.total,
      min: sorted[0] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
      mean: this.mean,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
    };
  }

  /** Cumulative bucket counts, sum and count of every update so far. */
  totals(): HistogramTotals {
    let cumulative = 0;
    const buckets = [...this.bounds, Number.POSITIVE_INFINITY].map((le, i) => {
      cumulative += this.inBucket[i] as number;
      return { le, count: cumulative };
    });
    return { count: this.total, sum: this.sum, buckets };
  }
}
