import type { HistogramSnapshot } from '@tributary/core';
import { Summary } from 'prom-client';

/** The quantiles a Tributary histogram snapshot answers exactly; 0 and 1 are its window's min and max. */
const QUANTILES = [
  [0, 'min'],
  [0.5, 'p50'],
  [0.95, 'p95'],
  [0.99, 'p99'],
  [1, 'max'],
] as const satisfies readonly (readonly [number, keyof HistogramSnapshot])[];

/** One series of a summary family: its labels and how to read the histogram behind it. */
export interface SummarySeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly read: () => HistogramSnapshot;
}

/**
 * A prom-client `Summary` whose quantiles come from Tributary histograms instead
 * of its own observations.
 *
 * prom-client summaries compute quantiles from values they observe themselves and
 * offer no way to set them, while a Tributary `Histogram` already holds its
 * percentiles; replaying raw values is impossible (only the snapshot is public).
 * So `get()` is overridden to report the snapshot, and everything else (name and
 * label validation, registration, text formatting) stays prom-client's.
 *
 * No `_sum` sample: the core histogram keeps the mean of its window, not the sum
 * of every update, and a made-up sum would make `rate(x_sum) / rate(x_count)` lie.
 * The window mean is exported as a separate gauge instead.
 */
export class WindowSummary extends Summary {
  constructor(
    config: { readonly name: string; readonly help: string; readonly labelNames: readonly string[] },
    private readonly series: () => Iterable<SummarySeries>,
  ) {
    super({ ...config, registers: [] });
  }

  override async get(): ReturnType<Summary['get']> {
    const base = await super.get();
    const countName = `${base.name}_count`;
    const values: Awaited<ReturnType<Summary['get']>>['values'] = [];
    for (const { labels, read } of this.series()) {
      const s = read();
      for (const [quantile, field] of QUANTILES) values.push({ labels: { ...labels, quantile }, value: s[field] });
      values.push({ metricName: countName, labels, value: s.count });
    }
    return { ...base, values };
  }
}
