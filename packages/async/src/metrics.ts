import { HISTOGRAM_BUCKETS, type Counter, type Histogram, type MetricGroup } from '@tributary/core';

/**
 * Names of the metrics every async operator subtask registers in its metric
 * group (`job.<job>.operator.<name or uid>.<subtask>.<metric>`).
 *
 * Histograms (over the last 1024 values):
 * - `batchSize`, `batchWeight`: records and weight (`weigher`, else 0) of each call.
 * - `queueWaitMs`: for each batch formed from the input, from its first
 *   record's arrival to its first call (the longest wait in the batch).
 * - `callLatencyMs`: from the start of a call to its completion or failure
 *   (calls abandoned by a timeout or cancellation are not measured); with
 *   `dedupe`, from the start of an attempt, the cache lookup included, and a
 *   batch the cache answers in full is measured too.
 *
 * Gauges: `inFlightBatches` (calls running), `bufferedRecords` (records not
 * in a call: in open batches, waiting for a call slot or for a retry),
 * `concurrencyLimit` (the throttling-adjusted cap on calls),
 * `maxInFlightBatches` (the configured cap), `heldRecords` (records from
 * arrival until emitted, in calls too) and `capacity` (how many it may hold
 * before it holds back input).
 *
 * Counters: `batches` (calls made, retries included), `records` (records
 * sent over all calls; with `dedupe`, only the records a call was made for:
 * a batch the cache answers in full makes no call and counts in neither),
 * `retries` (calls that were retries; with `dedupe`, likewise only calls made), `failures` (calls that failed:
 * threw, rejected, completed exceptionally or timed out, and `timeout()` hook answers the operator could not use),
 * `failedItems` (items marked failed in per-item responses),
 * `timeouts` (calls and `timeout()` hook calls cut by their time limit, and batches whose
 * deadline passed while they waited for a call slot), `deadLettered`
 * (records sent to the dead-letter output), `throttled` (calls or items that
 * carried a retry-after hint; one per response).
 *
 * With `adaptive` batching, two more gauges: `adaptiveBatchSize` (the size
 * chosen for the next batches) and `adaptiveBatchDelayMs` (the wait chosen
 * for a batch to fill). With `dedupe`, counters `dedupedRecords` (records
 * that shared a call with an identical one of their batch), `cacheHits`
 * (records answered by the cache), `cacheMisses` (distinct keys sent in a
 * call) and `cacheErrors` (failed lookups and stores; a failed lookup is a
 * miss). Each attempt of a batch splits its records in three: `records`
 * sent, `dedupedRecords` and `cacheHits`.
 */
export const ASYNC_METRICS = {
  histograms: ['batchSize', 'batchWeight', 'queueWaitMs', 'callLatencyMs'],
  gauges: ['inFlightBatches', 'bufferedRecords', 'concurrencyLimit', 'maxInFlightBatches', 'heldRecords', 'capacity'],
  counters: ['batches', 'records', 'retries', 'failures', 'failedItems', 'timeouts', 'deadLettered', 'throttled'],
} as const;

/** The metric objects of one operator subtask (see {@link ASYNC_METRICS}). */
export class AsyncOperatorMetrics {
  readonly batchSize: Histogram;
  readonly batchWeight: Histogram;
  readonly queueWaitMs: Histogram;
  readonly callLatencyMs: Histogram;
  readonly batches: Counter;
  readonly records: Counter;
  readonly retries: Counter;
  readonly failures: Counter;
  readonly failedItems: Counter;
  readonly timeouts: Counter;
  readonly deadLettered: Counter;
  readonly throttled: Counter;

  constructor(group: MetricGroup, gauges: Readonly<Record<(typeof ASYNC_METRICS.gauges)[number], () => number>>) {
    this.batchSize = group.histogram('batchSize', { buckets: HISTOGRAM_BUCKETS.count });
    this.batchWeight = group.histogram('batchWeight', { buckets: HISTOGRAM_BUCKETS.count });
    this.queueWaitMs = group.histogram('queueWaitMs');
    this.callLatencyMs = group.histogram('callLatencyMs');
    for (const name of ASYNC_METRICS.gauges) group.gauge(name, gauges[name]);
    this.batches = group.counter('batches');
    this.records = group.counter('records');
    this.retries = group.counter('retries');
    this.failures = group.counter('failures');
    this.failedItems = group.counter('failedItems');
    this.timeouts = group.counter('timeouts');
    this.deadLettered = group.counter('deadLettered');
    this.throttled = group.counter('throttled');
  }

  /** A call of the user function was made for `records` records of total `weight`. */
  countCall(records: number, weight: number): void {
    this.batches.count++;
    this.records.count += records;
    this.batchSize.update(records);
    this.batchWeight.update(weight);
  }
}
