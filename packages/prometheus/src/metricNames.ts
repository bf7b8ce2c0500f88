/** Where one Tributary metric lands in Prometheus: a metric family name and the labels of its series. */
export interface PrometheusSeries {
  /** The family name without a type suffix (`_total` is added for counters by the exporter). */
  readonly name: string;
  /** The metric's own name as the core registered it (`numRecordsIn`), or the whole id when it has no job scope. */
  readonly metric: string;
  /** `{ job, operator, subtask }` for operator metrics, `{ job }` for a job's checkpoint metrics; empty outside a job scope. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * `job.<job>.operator.<operator>.<subtask>.<metric>`. The job name stops at the
 * first `.operator.`; the operator name runs to the last `.<digits>.`, so an
 * operator named `v1.2 embed` survives while a metric registered in a nested
 * group (`addGroup('http').counter('calls')`) keeps its dotted tail as the metric.
 */
const OPERATOR_METRIC_ID = /^job\.(.+?)\.operator\.(.+)\.(\d+)\.(.+)$/s;

/** `job.<job>.checkpoints.<metric>`: the job-level metrics the runtime registers. */
const CHECKPOINT_METRIC_ID = /^job\.(.+?)\.checkpoints\.([^.]+)$/s;

/**
 * Maps a Tributary metric id to a Prometheus name and labels.
 *
 * Operator metrics (`job.<job>.operator.<op>.<subtask>.<metric>`) become
 * `<prefix>_<metric>{job, operator, subtask}`, so one family holds the metric for
 * every job, operator and subtask, and PromQL can sum over any of them. A job's
 * checkpoint metrics (`job.<job>.checkpoints.<metric>`) become `<prefix>_<metric>{job}`.
 * Any other id (a group the user created on the registry) becomes `<prefix>_<id>`
 * without labels. Metric names keep their case (`numRecordsIn`), as Flink's Prometheus
 * reporter does; characters Prometheus does not allow become `_`.
 *
 * @example
 * ```ts
 * toPrometheusSeries('job.wc.operator.Map.0.numRecordsIn');
 * // { name: 'tributary_numRecordsIn', metric: 'numRecordsIn', labels: { job: 'wc', operator: 'Map', subtask: '0' } }
 * ```
 */
export function toPrometheusSeries(id: string, prefix = 'tributary'): PrometheusSeries {
  const operatorMatch = OPERATOR_METRIC_ID.exec(id);
  if (operatorMatch !== null) {
    const [, job = '', operator = '', subtask = '', metric = ''] = operatorMatch;
    return { name: prefixed(prefix, metric), metric, labels: { job, operator, subtask } };
  }
  const checkpointMatch = CHECKPOINT_METRIC_ID.exec(id);
  if (checkpointMatch !== null) {
    const [, job = '', metric = ''] = checkpointMatch;
    return { name: prefixed(prefix, metric), metric, labels: { job } };
  }
  return { name: prefixed(prefix, id), metric: id, labels: {} };
}

/**
 * Turns any string into a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`):
 * every other character becomes `_`, and a leading digit gets a `_` in front.
 */
export function sanitizeMetricName(name: string): string {
  const cleaned = replaceInvalid(name);
  return /^[0-9]/.test(cleaned) || cleaned === '' ? `_${cleaned}` : cleaned;
}

function prefixed(prefix: string, name: string): string {
  return prefix === '' ? sanitizeMetricName(name) : `${prefix}_${replaceInvalid(name)}`;
}

function replaceInvalid(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}
