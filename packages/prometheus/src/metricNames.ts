import { describeMetric, describeValue, exportedVariables, OptionChecker, type MetricEntry } from '@tributary/core';
import { validateMetricName } from 'prom-client';

/** Where one Tributary metric lands in Prometheus: a metric family and the labels of its series. */
export interface PrometheusSeries {
  /** The family name with its unit, without a type suffix (`_total` is added for counters by the exporter). */
  readonly name: string;
  /** The metric's own name as registered (`numRecordsIn`). */
  readonly metric: string;
  /**
   * The metric's variables as exporters publish them (`exportedVariables` in `@tributary/core`): `{ job_name, job_id, operator, uid, subtask }`
   * for operator metrics, `{ job_name, job_id }` for checkpoint metrics.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** Factor from the registered value to the published base unit (0.001 for milliseconds to seconds). */
  readonly scale: number;
  readonly help: string;
}

/** Prometheus spells a few units out as name suffixes (https://prometheus.io/docs/practices/naming/). */
const UNIT_SUFFIX: Readonly<Record<string, string>> = { s: '_seconds', By: '_bytes' };

/**
 * Maps a registered Tributary metric to a Prometheus name and labels.
 *
 * The name is `<prefix>_` plus the metric's published name in snake_case with
 * its base unit (`callLatencyMs` → `tributary_async_call_duration_seconds`, see
 * `describeMetric` in `@tributary/core`); the labels are the metric's variables,
 * so one family holds the metric for every job, operator and subtask, and PromQL
 * can sum over any of them. Characters Prometheus does not allow become `_`
 * in the metric's part; a `prefix` that is not a valid Prometheus name (or `''`)
 * fails with an `InvalidJobError`, as in {@link toPrometheusRegistry}'s options.
 *
 * @example
 * ```ts
 * import { MetricRegistry } from '@tributary/core';
 * import { toPrometheusSeries } from '@tributary/prometheus';
 *
 * const registry = new MetricRegistry();
 * registry.scopedGroup(['job', 'wc'], { job: 'wc', subtask: '0' }).counter('numRecordsIn');
 * const [entry] = registry.entries();
 * toPrometheusSeries(entry!).name; // 'tributary_operator_records_in'
 * ```
 */
export function toPrometheusSeries(entry: MetricEntry, prefix = 'tributary'): PrometheusSeries {
  return seriesOf(entry, checkPrefix(new OptionChecker('toPrometheusSeries()'), prefix));
}

/**
 * @internal The prefix check of every entry point: a prefix is used as given (only the
 * metric's part is sanitized), so one Prometheus rejects would spoil every name.
 */
export function checkPrefix(check: OptionChecker, prefix: unknown): string {
  if (typeof prefix !== 'string' || (prefix !== '' && !validateMetricName(prefix))) {
    check.fail(`option 'prefix' must be a valid Prometheus metric name or '', got ${describeValue(prefix)}`);
  }
  return prefix;
}

/** @internal {@link toPrometheusSeries} for a prefix already checked (the registry maps every entry at each scrape). */
export function seriesOf(entry: MetricEntry, prefix: string): PrometheusSeries {
  const described = describeMetric(entry.name, entry.metric);
  const base = `${described.name.replaceAll('.', '_')}${UNIT_SUFFIX[described.unit] ?? ''}`;
  return {
    name: prefix === '' ? sanitizeMetricName(base) : `${prefix}_${replaceInvalid(base)}`,
    metric: entry.name,
    labels: exportedVariables(entry.variables),
    scale: described.scale,
    help: described.help,
  };
}

/**
 * Turns any string into a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`):
 * every other character becomes `_`, and a leading digit gets a `_` in front.
 */
export function sanitizeMetricName(name: string): string {
  const cleaned = replaceInvalid(name);
  return /^[0-9]/.test(cleaned) || cleaned === '' ? `_${cleaned}` : cleaned;
}

function replaceInvalid(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}
