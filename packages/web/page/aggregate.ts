import type { GraphView, HistogramView, MetricsView, SubtaskMetricsView } from '../src/api.js';

/** What the page shows of one operator, over its subtasks. */
export interface OperatorTotals {
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly recordsInPerSecond: number | null;
  readonly recordsOutPerSecond: number | null;
}

/** What the page shows of one task (a chain), from its head operator's subtasks: Flink colours a vertex by its busiest subtask. */
export interface TaskLoad {
  readonly busyTimeMsPerSecond: number | null;
  readonly backPressuredTimeMsPerSecond: number | null;
}

export function subtasksOf(metrics: MetricsView, operator: string): readonly SubtaskMetricsView[] {
  return metrics.operators[operator] ?? [];
}

export function operatorTotals(metrics: MetricsView, operator: string): OperatorTotals {
  const rows = subtasksOf(metrics, operator);
  return {
    recordsIn: sum(rows.map((r) => valueOf(r, 'numRecordsIn'))),
    recordsOut: sum(rows.map((r) => valueOf(r, 'numRecordsOut'))),
    recordsInPerSecond: sumOrNull(rows.map((r) => r.rates.numRecordsInPerSecond)),
    recordsOutPerSecond: sumOrNull(rows.map((r) => r.rates.numRecordsOutPerSecond)),
  };
}

export function taskLoad(metrics: MetricsView, graph: GraphView, vertex: string): TaskLoad {
  const head = graph.vertices.find((v) => v.id === vertex)?.operators[0];
  const rows = head === undefined ? [] : subtasksOf(metrics, head);
  return {
    busyTimeMsPerSecond: maxOrNull(rows.map((r) => r.rates.busyTimeMsPerSecond)),
    backPressuredTimeMsPerSecond: maxOrNull(rows.map((r) => r.rates.backPressuredTimeMsPerSecond)),
  };
}

export function valueOf(row: SubtaskMetricsView, name: string): number {
  const value = row.values[name];
  return typeof value === 'number' && !Number.isNaN(value) ? value : 0;
}

export function histogram(row: SubtaskMetricsView, name: string): HistogramView | undefined {
  const value = row.values[name];
  return typeof value === 'object' ? value : undefined;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sumOrNull(values: readonly (number | null | undefined)[]): number | null {
  const known = values.filter((v): v is number => typeof v === 'number');
  return known.length === 0 ? null : sum(known);
}

export function maxOrNull(values: readonly (number | null | undefined)[]): number | null {
  const known = values.filter((v): v is number => typeof v === 'number');
  return known.length === 0 ? null : Math.max(...known);
}
