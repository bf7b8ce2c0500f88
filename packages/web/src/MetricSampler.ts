import { metricOperatorNames, type Histogram, type JobGraphView, type MetricEntry, type MetricRegistry } from '@tributary/core';
import type { HistogramView, MetricsView, SubtaskMetricsView } from './api.js';

/** Counters shown per second, as Flink's web UI does (`busyTimeMsPerSecond`). */
const RATED = ['numRecordsIn', 'numRecordsOut', 'busyTimeMs', 'backPressuredTimeMs', 'idleTimeMs'];
/** Samples closer together than this share one: rates over a shorter span only show noise. */
const MIN_SPAN_MS = 500;
/** A task slot reports every second: one silent for longer is stuck (a long synchronous call in user code). */
const SILENT_MS = 3_000;

/**
 * Reads one job's metrics from the registry, per operator and subtask, and
 * turns counters into per-second rates over the span since the previous
 * sample (for a task slot's counters, since the slot's previous sample):
 * the state behind `/api/metrics`.
 */
export class MetricSampler {
  /** Operator id by the variables its metrics carry (`operator` and `uid`). */
  private readonly operatorIds: Map<string, string>;
  private last: { readonly view: MetricsView; readonly counts: ReadonlyMap<string, CountAt> } | undefined;

  constructor(
    private readonly registry: MetricRegistry,
    graph: JobGraphView,
    private readonly jobId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.operatorIds = operatorIdsByVariables(graph);
  }

  /** The job's final values, once it has ended (see {@link end}). */
  private final: MetricsView | undefined;

  /** The current values; a sample taken within the last half second unless `fresh`; the final values once the job ended. */
  sample(fresh = false): MetricsView {
    if (this.final !== undefined) return this.final;
    const time = this.now();
    const previous = this.last;
    if (!fresh && previous !== undefined && time - previous.view.time < MIN_SPAN_MS) return previous.view;
    const counts = new Map<string, CountAt>();
    const subtasks = new Map<
      string,
      { operator: string; subtask: number; values: Record<string, number | HistogramView>; rates: Record<string, number | null>; silentForMs?: number }
    >();
    for (const entry of this.registry.entries()) {
      const { job_id: jobId, operator, uid = '', subtask } = entry.variables;
      if (jobId !== this.jobId || operator === undefined || subtask === undefined) continue;
      const id = this.operatorIds.get(variablesKey(operator, uid));
      if (id === undefined) continue;
      const key = `${id}\u0000${subtask}`;
      let row = subtasks.get(key);
      if (row === undefined) subtasks.set(key, (row = { operator: id, subtask: Number(subtask), values: {}, rates: {} }));
      row.values[entry.name] = valueOf(entry);
      if (entry.metric.kind === 'counter' && RATED.includes(entry.name)) {
        // A slot's counter is as of its last sample (once a second): its rate spans the slot's samples, not this
        // sampler's reads, which would see one sample's growth or none. No new sample since: the rate stands, until
        // the slot has been silent too long to say what it does (unknown, not its last rate).
        const at = entry.metric.sampledAt ?? time;
        const before = previous?.counts.get(`${key}\u0000${entry.name}`);
        const silent = time - at > SILENT_MS;
        const rate =
          before === undefined || silent ? null : at === before.at ? before.rate : ((entry.metric.count - before.count) * 1000) / (at - before.at);
        counts.set(`${key}\u0000${entry.name}`, { count: entry.metric.count, at, rate });
        row.rates[`${entry.name}PerSecond`] = rate;
        if (silent) row.silentForMs = Math.max(row.silentForMs ?? 0, time - at);
      }
    }
    const operators: Record<string, SubtaskMetricsView[]> = {};
    for (const { operator, ...row } of subtasks.values()) (operators[operator] ??= []).push(row);
    for (const rows of Object.values(operators)) rows.sort((a, b) => a.subtask - b.subtask);
    const view = { jobId: this.jobId, time, operators };
    this.last = { view, counts };
    return view;
  }

  /** The job has ended: a last sample, read from now on, with every rate 0, since nothing moves (or is stuck) any more. */
  end(): MetricsView {
    const { operators, ...rest } = this.sample(true);
    const still = (rates: Record<string, number | null>) => Object.fromEntries(Object.keys(rates).map((name) => [name, 0]));
    const ended = ({ silentForMs: _, ...row }: SubtaskMetricsView): SubtaskMetricsView => ({ ...row, rates: still(row.rates) });
    this.final = { ...rest, operators: Object.fromEntries(Object.entries(operators).map(([id, rows]) => [id, rows.map(ended)])) };
    return this.final;
  }
}

/** A counter's value at a sampler read: its count, when it was taken, and the rate shown for it. */
interface CountAt {
  readonly count: number;
  readonly at: number;
  readonly rate: number | null;
}

/** Operator id by the `operator` and `uid` variables its metrics carry, as the runtime names them. */
function operatorIdsByVariables(graph: JobGraphView): Map<string, string> {
  const names = metricOperatorNames(graph.operators);
  return new Map(graph.operators.map((op, i) => [variablesKey(names[i] as string, op.uid ?? ''), op.id]));
}

function variablesKey(operator: string, uid: string): string {
  return `${operator}\u0000${uid}`;
}

function valueOf({ metric }: MetricEntry): number | HistogramView {
  if (metric.kind === 'counter') return metric.count;
  // A gauge whose callback throws reads NaN (null in JSON); the other metrics still show.
  if (metric.kind === 'gauge') return metric.value();
  return histogramView(metric);
}

function histogramView(histogram: Histogram): HistogramView {
  const { sum, buckets } = histogram.totals();
  return {
    ...histogram.snapshot(),
    sum,
    buckets: buckets.map(({ le, count }) => ({ le: Number.isFinite(le) ? le : null, count })),
  };
}
