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
 * A histogram over the most recent `windowSize` values (Flink's
 * `DescriptiveStatisticsHistogram`): percentiles describe current behaviour
 * rather than the whole run, and memory stays fixed.
 */
export class Histogram {
  readonly kind = 'histogram';
  private readonly window: Float64Array;
  private next = 0;
  private filled = 0;
  private total = 0;

  constructor(windowSize = 1024) {
    if (!Number.isInteger(windowSize) || windowSize < 1) {
      throw new RangeError(`Histogram windowSize must be a positive integer, got ${windowSize}`);
    }
    this.window = new Float64Array(windowSize);
  }

  update(value: number): void {
    this.window[this.next] = value;
    this.next = (this.next + 1) % this.window.length;
    if (this.filled < this.window.length) this.filled++;
    this.total++;
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
}
