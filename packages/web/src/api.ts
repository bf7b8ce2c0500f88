import type { HistogramSnapshot, JobGraphView } from '@tributary/core';

/**
 * The JSON the view serves (`/api/job`, `/api/metrics`, and each `update` of
 * `/api/events`), shared by the server and the page. Types only, core's
 * imported as types: the page is type-checked for the browser, without Node's types.
 */

export type JobStatusView = 'running' | 'finished' | 'cancelled' | 'failed';

/** `GET /api/job`: what the job is and what happened to it. */
export interface JobView {
  readonly jobId: string;
  readonly name: string;
  readonly status: JobStatusView;
  /** Wall-clock ms since the view started watching; the job's own runtime once it has ended. */
  readonly runtimeMs: number;
  readonly graph: GraphView;
  /** Every restart after a failure, oldest first. */
  readonly restarts: readonly RestartView[];
  /** Checkpoints completed or failed since the view started, oldest first (the last 100). */
  readonly checkpoints: readonly CheckpointView[];
  /** How many checkpoints completed and failed since the view started: all of them, not only those `checkpoints` keeps. */
  readonly checkpointCounts: { readonly completed: number; readonly failed: number };
  /** The checkpoint the job started from, when it was restored. */
  readonly restoredFrom: { readonly checkpointId: number | null; readonly location: string } | null;
  /** Why the job failed for good (status `failed`), else null. */
  readonly failure: string | null;
}

/** The compiled job: core's plain-data `JobGraphView`. */
export type GraphView = JobGraphView;

export interface RestartView {
  /** Wall-clock time of the restart, ms since the epoch. */
  readonly time: number;
  /** 1 for the first restart. */
  readonly attempt: number;
  /** The failed operator, as the runtime names it (`'enrich'`), or null for a runtime failure. */
  readonly operator: string | null;
  readonly task: string | null;
  readonly subtask: number | null;
  readonly cause: string;
  readonly delayMs: number;
  /** The checkpoint the job restarts from, null when it starts over. */
  readonly fromCheckpointId: number | null;
}

export interface CheckpointView {
  readonly checkpointId: number;
  /** Wall-clock time it completed or failed, ms since the epoch. */
  readonly time: number;
  readonly status: 'completed' | 'failed';
  readonly durationMs: number | null;
  /** How long the slowest task held its inputs back for the barrier to arrive on all of them (real time). */
  readonly alignmentMs: number | null;
  readonly sizeBytes: number | null;
  readonly location: string | null;
  /** Why it failed. */
  readonly cause: string | null;
  /** Taken as the job ended. */
  readonly final: boolean;
}

/** `GET /api/metrics`: every subtask's metrics, by operator id (see {@link GraphView}). */
export interface MetricsView {
  readonly jobId: string;
  /** Wall-clock time of the sample, ms since the epoch. */
  readonly time: number;
  readonly operators: Readonly<Record<string, readonly SubtaskMetricsView[]>>;
}

export interface SubtaskMetricsView {
  readonly subtask: number;
  /** Registered name (`numRecordsIn`, `callLatencyMs`) to value: counters and gauges as numbers, histograms as {@link HistogramView}. */
  readonly values: Readonly<Record<string, number | HistogramView>>;
  /**
   * Per second since the previous sample (null before there is one), from the
   * counters: `numRecordsInPerSecond`, `numRecordsOutPerSecond`, and on a
   * task's head operator `busyTimeMsPerSecond`, `backPressuredTimeMsPerSecond`,
   * `idleTimeMsPerSecond` (each where the runtime registers its counter).
   */
  readonly rates: Readonly<Record<string, number | null>>;
  /**
   * Present while the subtask's task slot has sent no report for over 3 s (it
   * reports every second): its thread is stuck, in a long synchronous call or
   * a loop of user code. Its counts are as of its last report, and the rates
   * of those counts are null, since nothing says what it does now.
   */
  readonly silentForMs?: number;
}

/** A histogram: core's snapshot (statistics over its recent window), and cumulative buckets over every update. */
export interface HistogramView extends HistogramSnapshot {
  readonly sum: number;
  /** Cumulative counts at or below `le`; the last `le` is null (+Infinity, which JSON cannot hold). */
  readonly buckets: readonly { readonly le: number | null; readonly count: number }[];
}

/** One message of `GET /api/events` (Server-Sent Events, event name `update`). */
export interface UpdateView {
  readonly job: JobView;
  readonly metrics: MetricsView;
}
