import type { Metric, MetricVariables } from './MetricRegistry.js';

/**
 * How a metric is published under the Prometheus and OpenTelemetry naming
 * conventions, while operators keep registering Flink-style names
 * (`numRecordsIn`, `callLatencyMs`).
 */
export interface MetricDescription {
  /** Dot-separated namespaces, snake_case inside: `operator.records_in`, `async.call.duration`. No prefix, no unit. */
  readonly name: string;
  /** UCUM unit, as OpenTelemetry wants it: `s`, `By`, `{record}`, `1`; `''` when unknown. */
  readonly unit: string;
  /** Factor from the registered value to `unit` (0.001 for a metric kept in milliseconds). */
  readonly scale: number;
  readonly help: string;
}

type Entry = readonly [name: string, unit: string, help: string];
const MS = 0.001;

/** The metrics the runtime, `@tributary/async` and the adapters' functions register, by registered name. */
const CATALOG: Readonly<Record<string, Entry>> = {
  numRecordsIn: ['operator.records_in', '{record}', 'Records the operator subtask received.'],
  numRecordsOut: ['operator.records_out', '{record}', 'Records the operator subtask emitted, side outputs included.'],
  inputQueueRecords: ['operator.input_queue_records', '{record}', 'Records waiting in front of the subtask (its backpressure buffer).'],
  busyTimeMs: ['task.busy_time', 's', 'Time the task (reported on its chain head) spent processing.'],
  backPressuredTimeMs: ['task.backpressured_time', 's', 'Time the task (reported on its chain head) waited for a full channel downstream or an operator at its capacity.'],
  idleTimeMs: ['task.idle_time', 's', 'Time the task (reported on its chain head) waited for input.'],
  numCompletedCheckpoints: ['checkpoints.completed', '{checkpoint}', 'Checkpoints completed by the job.'],
  checkpointDurationMs: ['checkpoint.duration', 's', 'From triggering a checkpoint to storing it.'],
  checkpointAlignmentMs: ['checkpoint.alignment', 's', 'How long the slowest task held inputs back for a checkpoint barrier to arrive on all of them.'],
  checkpointSizeBytes: ['checkpoint.size', 'By', 'Size of each stored checkpoint.'],
  batchSize: ['async.batch.size', '{record}', 'Records in each call.'],
  batchWeight: ['async.batch.weight', '1', "Weight of each call's batch (its weigher; 0 without one)."],
  queueWaitMs: ['async.queue.wait', 's', "From a batch's first record arriving to its first call."],
  callLatencyMs: ['async.call.duration', 's', 'From the start of a call to its completion or failure.'],
  inFlightBatches: ['async.calls.in_flight', '{call}', 'Calls running.'],
  bufferedRecords: ['async.buffered_records', '{record}', 'Records not in a call: in open batches, waiting for a slot or a retry.'],
  concurrencyLimit: ['async.concurrency_limit', '{call}', 'The throttling-adjusted cap on calls in flight.'],
  maxInFlightBatches: ['async.calls.max_in_flight', '{call}', 'The configured cap on calls in flight (maxInFlightBatches).'],
  heldRecords: ['async.held_records', '{record}', 'Records the operator holds, from arrival until emitted (in calls too).'],
  capacity: ['async.capacity', '{record}', 'Records the operator may hold before it holds back its input.'],
  batches: ['async.calls', '{call}', 'Calls made, retries included (with dedupe, a batch the cache answers in full makes none).'],
  records: ['async.call.records', '{record}', 'Records sent over all calls (with dedupe, one per distinct key not cached).'],
  retries: ['async.retries', '{call}', 'Calls that were retries.'],
  failures: ['async.call.failures', '{call}', 'Calls that threw, rejected, completed exceptionally or timed out.'],
  failedItems: ['async.failed_items', '{record}', 'Items marked failed in per-item responses.'],
  timeouts: ['async.timeouts', '{call}', 'Calls cut by their timeout or deadline, and batches whose deadline passed before a call.'],
  deadLettered: ['async.dead_lettered', '{record}', 'Records sent to the dead-letter output.'],
  throttled: ['async.throttled', '{call}', 'Responses that carried a retry-after hint.'],
  adaptiveBatchSize: ['async.adaptive.batch_size', '{record}', 'The batch size adaptive batching chose for the next batches.'],
  cacheHits: ['async.cache.hits', '{record}', "Records answered by dedupe's result cache, without a call."],
  cacheMisses: ['async.cache.misses', '{record}', "Distinct keys dedupe's result cache did not hold, sent in a call."],
  dedupedRecords: ['async.deduped_records', '{record}', 'Records that shared a call with an identical one of their batch.'],
  cacheErrors: ['async.cache.errors', '{call}', "Failed lookups in and stores to dedupe's result cache (a failed lookup sends every key)."],
  promptTokens: ['async.usage.prompt_tokens', '{token}', 'Prompt (input) tokens a service reported for the calls (OpenAI usage).'],
  completionTokens: ['async.usage.completion_tokens', '{token}', 'Completion (output) tokens a service reported for the calls.'],
  totalTokens: ['async.usage.total_tokens', '{token}', 'Total tokens a service reported for the calls.'],
  adaptiveBatchDelayMs: ['async.adaptive.batch_delay', 's', 'The wait adaptive batching chose for a batch to fill.'],
};

/**
 * The published name, unit and scale of a registered metric. Names the
 * runtime and the async operator register come from a fixed table (these
 * names are therefore reserved); any other name is turned to snake_case
 * (`http.callCount` → `http.call_count`, `HTTPRequests` → `http_requests`) with no unit.
 */
export function describeMetric(name: string, metric: Metric): MetricDescription {
  // Own keys only: `toString` is a metric name like any other.
  const known = Object.hasOwn(CATALOG, name) ? CATALOG[name] : undefined;
  if (known !== undefined) {
    const [published, unit, help] = known;
    return { name: published, unit, scale: name.endsWith('Ms') ? MS : 1, help };
  }
  return { name: name.split('.').map(snakeCase).join('.'), unit: '', scale: 1, help: `Tributary ${metric.kind} '${name}'.` };
}

function snakeCase(part: string): string {
  return part
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    // The end of an acronym: `HTTPRequests` → `HTTP_Requests`.
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}

/**
 * A metric's variables as the exporters publish them, as labels or attributes: the job's name as `job_name`, as
 * Flink's Prometheus reporter has it. Prometheus gives every series it scrapes the scrape job's name as `job`, and
 * by default renames a `job` label the target exports to `exported_job`: a label spelt `job` would never be found
 * under that name in PromQL (OpenTelemetry's Prometheus exporter passes attributes on as labels).
 */
export function exportedVariables(variables: MetricVariables): MetricVariables {
  if (!Object.hasOwn(variables, 'job')) return variables;
  const { job, ...rest } = variables;
  return { job_name: job as string, ...rest };
}
