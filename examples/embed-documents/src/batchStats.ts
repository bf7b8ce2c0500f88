import type { HistogramSnapshot, MetricEntry, MetricVariables } from '@tributary/core';

/** What the report and the progress line show of the async batch operator, summed over its subtasks. */
export interface BatchStats {
  /** Records the operator emitted (embedded documents). */
  readonly recordsOut: number;
  /** Calls made, retries included. */
  readonly batches: number;
  /** Records sent over all calls (with dedupe: the texts embedded). */
  readonly recordsSent: number;
  /** Records dedupe answered from its cache, without a call. */
  readonly cacheHits: number;
  /** Records dedupe answered with the call of an identical record of their batch. */
  readonly dedupedRecords: number;
  /** `recordsSent / batches`, 0 before the first call. */
  readonly meanBatchSize: number;
  readonly inFlightBatches: number;
  readonly retries: number;
  readonly failures: number;
  /** Over the histogram's window of recent calls (the worst subtask for percentiles). */
  readonly callLatencyMs: HistogramSnapshot;
  readonly queueWaitMs: HistogramSnapshot;
}

const EMPTY: HistogramSnapshot = { count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 };

/**
 * Reads an async operator's metrics from registry entries
 * (`registry.entries()`) whose variables include `where`: `{ job_id, operator }`
 * for one run's operator, `{ job, operator }` while the only run goes.
 * Counters and gauges are summed over subtasks, histograms merged
 * (count-weighted mean, the largest percentile).
 */
export function batchStats(entries: Iterable<MetricEntry>, where: MetricVariables): BatchStats {
  const sums = new Map<string, number>();
  const histograms = new Map<string, HistogramSnapshot[]>();
  for (const { name, variables, metric } of entries) {
    if (Object.entries(where).some(([k, v]) => variables[k] !== v)) continue;
    if (metric.kind === 'histogram') histograms.set(name, [...(histograms.get(name) ?? []), metric.snapshot()]);
    else sums.set(name, (sums.get(name) ?? 0) + (metric.kind === 'counter' ? metric.count : metric.read()));
  }
  const sum = (name: string) => sums.get(name) ?? 0;
  const batches = sum('batches');
  return {
    recordsOut: sum('numRecordsOut'),
    batches,
    recordsSent: sum('records'),
    cacheHits: sum('cacheHits'),
    dedupedRecords: sum('dedupedRecords'),
    meanBatchSize: batches === 0 ? 0 : sum('records') / batches,
    inFlightBatches: sum('inFlightBatches'),
    retries: sum('retries'),
    failures: sum('failures'),
    callLatencyMs: merge(histograms.get('callLatencyMs') ?? []),
    queueWaitMs: merge(histograms.get('queueWaitMs') ?? []),
  };
}

function merge(parts: readonly HistogramSnapshot[]): HistogramSnapshot {
  const filled = parts.filter((h) => h.count > 0);
  if (filled.length === 0) return EMPTY;
  if (filled.length === 1) return filled[0]!;
  const count = filled.reduce((n, h) => n + h.count, 0);
  const worst = (pick: (h: HistogramSnapshot) => number) => Math.max(...filled.map(pick));
  return {
    count,
    min: Math.min(...filled.map((h) => h.min)),
    max: worst((h) => h.max),
    mean: filled.reduce((s, h) => s + h.mean * h.count, 0) / count,
    p50: worst((h) => h.p50),
    p95: worst((h) => h.p95),
    p99: worst((h) => h.p99),
  };
}
