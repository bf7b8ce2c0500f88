import type { HistogramTotals } from '@tributary/core';
import { Histogram } from 'prom-client';

/** One series of a histogram family: its labels, how to read the Tributary histogram behind it, and the unit factor. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly read: () => HistogramTotals;
  readonly scale: number;
}

type Config = { readonly name: string; readonly help: string; readonly labelNames: readonly string[] };

/**
 * A prom-client `Histogram` whose buckets, `_sum` and `_count` come from
 * Tributary histograms (`Histogram.totals()`) instead of its own observations:
 * prom-client offers no way to set bucket counts, so `get()` reports the totals
 * and prom-client keeps validation, registration and text formatting.
 */
export class BucketHistogram extends Histogram {
  constructor(
    private readonly config: Config,
    private readonly series: () => Iterable<HistogramSeries>,
  ) {
    super({ ...config, registers: [] });
  }

  override get(): ReturnType<Histogram['get']> {
    const { name, help } = this.config;
    const values: Awaited<ReturnType<Histogram['get']>>['values'] = [];
    for (const { labels, read, scale } of this.series()) {
      const { buckets, sum, count } = read();
      for (const bucket of buckets) {
        const le = bucket.le === Number.POSITIVE_INFINITY ? '+Inf' : bucket.le * scale;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: bucket.count });
      }
      values.push({ metricName: `${name}_sum`, labels, value: sum * scale }, { metricName: `${name}_count`, labels, value: count });
    }
    // prom-client's typings give `type` as an enum and require `collect`; at runtime it reads the string and no collect.
    return Promise.resolve({ name, help, type: 'histogram', values, aggregator: 'sum' } as unknown as Awaited<ReturnType<Histogram['get']>>);
  }

  /** The registry's text writer reads histograms here: the same values as `get()`. */
  getForPromString(): ReturnType<Histogram['get']> {
    return this.get();
  }
}
