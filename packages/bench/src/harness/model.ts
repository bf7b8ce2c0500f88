import type { RESULTS_SCHEMA } from './results.js';
/**
 * What a benchmark is made of: scenarios, their contenders, the targets the
 * issues set, and the results the runner records (and the docs are generated
 * from).
 */

/** What every contender returns, so the runner can check all did the same work. */
export interface Checksum {
  readonly count: number;
  readonly sum: number;
}

/**
 * The scenarios of issues 2 and 3 (plus the memory run of issue 3), the
 * checkpoint costs of issue 5 (`CK`), the ONNX embedder of issue 6 (`S5`),
 * and the main job (`S6`), a CPU-heavy keyed pipeline (`S7`) and the cost of
 * a hash edge (`S4-edge`) of issue 21.
 */
export type ScenarioId = 'S1' | 'S2' | 'S3' | 'S4' | 'S1-memory' | 'S1-sweep' | 'CK' | 'S5' | 'S5b' | 'S6' | 'S7' | 'S4-edge' | 'S8';

/**
 * What a contender may return besides its checksum: figures of the run
 * itself (checkpoints completed, ...), kept per measured run and shown next to
 * the timings. They are not compared between contenders.
 */
export interface RunStats extends Checksum {
  readonly stats?: Readonly<Record<string, number>>;
}

/** One implementation of a scenario's workload. */
export interface Contender<TParams, TResult extends Checksum> {
  /** Stable id, used in results and targets: `tributary`, `hand-loop`, `rxjs`, ... */
  readonly id: string;
  /** What the tables print. */
  readonly label: string;
  /** How it is built, one line, for the docs. */
  readonly note: string;
  /** A supplementary row (another variant): no target talks about it. */
  readonly extra?: boolean;
  /**
   * Records per call of the contender's per-batch code (its batch size; 1
   * for per-record calls), for the warm-up: it runs until that code has made
   * `WARMUP_CALLS` calls (see `warmupRunsFor`). Left out, a CPU scenario
   * warms up for `WARMUP_RUNS` runs and a flow scenario takes the point's
   * batch size.
   */
  readonly recordsPerCall?: number;
  /** Called once before the warm-up, outside any measurement, with the largest params the run will use. */
  prepare?(params: TParams): void | Promise<void>;
  run(params: TParams): Promise<TResult>;
  /** Called once after the last repetition (also when one failed): releases what `prepare` or the runs left behind. */
  teardown?(): void | Promise<void>;
}

/** How a result names and describes its contender (see {@link Contender}). */
export interface ContenderInfo {
  readonly id: string;
  readonly label: string;
  readonly note: string;
  readonly extra: boolean;
}

/** A contender's {@link ContenderInfo}, for its result row. */
export function contenderInfo(c: Pick<Contender<never, Checksum>, 'id' | 'label' | 'note' | 'extra'>): ContenderInfo {
  return { id: c.id, label: c.label, note: c.note, extra: c.extra ?? false };
}

/** A target from an issue, checked against the figures of one run (CPU: each contender's best sample). */
export type Target =
  /** `subject` takes at most `max` times the CPU of `baseline` per record. */
  | { readonly kind: 'max-ratio'; readonly label: string; readonly subject: string; readonly baseline: string; readonly max: number }
  /** `subject` is at least `min` times faster than `baseline` (CPU per record, or wall time with the scenario's `targetFigure: 'wall'`). */
  | { readonly kind: 'min-speedup'; readonly label: string; readonly subject: string; readonly baseline: string; readonly min: number }
  /** `subject`'s figure (ns CPU/record, % of the bound, or a checkpoint's ms) is at most `max`. */
  | { readonly kind: 'max-value'; readonly label: string; readonly subject: string; readonly max: number }
  /** `subject`'s figure is at least `min`. */
  | { readonly kind: 'min-value'; readonly label: string; readonly subject: string; readonly min: number }
  /** The median over `subject`'s measured runs of one of its run stats ({@link RunStats.stats}) is at most `max`. */
  | { readonly kind: 'max-stat'; readonly label: string; readonly subject: string; readonly stat: string; readonly max: number };

/** How a target fared in a run: `value` must be at most or at least `threshold`. */
export interface TargetResult {
  readonly label: string;
  /** `ratio` of two contenders' figures, the subject's own `figure` (ns CPU/record, % of the bound, or a checkpoint's ms), or one of its run `stat`s. */
  readonly measure: 'ratio' | 'figure' | 'stat';
  readonly value: number;
  readonly bound: 'at-most' | 'at-least';
  readonly threshold: number;
  readonly met: boolean;
}

/** The machine and runtime a result was measured on. */
export interface Environment {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly totalMemoryGb: number;
  readonly loadAverage: readonly number[];
}

/** A contender of a CPU-cost scenario (S2-S5, CK's overhead pairs): ns of CPU per record in its best sample. */
export interface CpuContenderResult extends ContenderInfo {
  /** The lowest of the samples (see `bestSample`): what targets and ratios are judged on. */
  readonly cpuNsPerRecord: number;
  /** The lowest wall-time sample. */
  readonly wallNsPerRecord: number;
  /** A figure per repetition: the median of that sample's measured runs. */
  readonly cpuSamples: readonly number[];
  readonly wallSamples: readonly number[];
  readonly checksum: Checksum;
  /** Full-size runs before the measured runs of each sample. */
  readonly warmupRuns: number;
  /** {@link RunStats.stats} of each measured run, by name. */
  readonly stats?: Readonly<Record<string, readonly number[]>>;
}

/** What every scenario's result says about itself and how it was measured (see `describeRun`). */
export interface RunDescription {
  readonly id: ScenarioId;
  readonly title: string;
  readonly description: string;
  readonly measuredAt: string;
  readonly command: string;
  readonly quick: boolean;
  /** Free text given with `--note` (e.g. "provisional: shared machine"). */
  readonly note?: string;
  readonly environment: Environment;
}

export interface CpuScenarioResult extends RunDescription {
  readonly kind: 'cpu';
  readonly records: number;
  /** Samples per contender. */
  readonly repetitions: number;
  /** Measured runs per sample, after its warm-up (see `MEASURED_RUNS`). */
  readonly measuredRuns: number;
  /** Each sample of each contender ran in a fresh process. */
  readonly isolated: boolean;
  readonly baseline: string;
  readonly subject: string;
  /** What a record is, plural (`embeddings`): the table then shows records per second too. */
  readonly unit?: string;
  readonly contenders: readonly CpuContenderResult[];
  readonly targets: readonly TargetResult[];
}

/** What a run against a (simulated) service reports besides its checksum. */
export interface FlowStats extends Checksum {
  /** Most records read from the source and not yet delivered to the sink, at any moment. */
  readonly peakInFlight: number;
  /** Highest heap used during the run, above the heap used just before it (after a GC), in bytes. Includes garbage. */
  readonly peakHeapDeltaBytes: number;
  /** Highest heap still in use after a forced GC, sampled every so many records (memory run only), above the start. */
  readonly peakLiveHeapDeltaBytes?: number;
  readonly wallMs: number;
  /** Calls made to the service and the records they carried. */
  readonly calls: number;
  readonly meanBatchSize: number;
  /**
   * Time the service spent serving calls, summed over calls (from its call
   * log). Divided by `concurrency * wallMs` it is the service's utilisation,
   * a figure that does not depend on how precisely timers fire.
   */
  readonly serviceBusyMs: number;
}

/** A service-bound scenario (S1, its memory run and its batch-size sweep): throughput as % of the bound. */
export interface FlowContenderResult extends ContenderInfo {
  readonly records: number;
  readonly batchSize: number;
  readonly boundRecordsPerSecond: number;
  /** Median of the repetitions. */
  readonly recordsPerSecond: number;
  readonly percentOfBound: number;
  /** Unmeasured runs before the first measured one (see `FlowScenario.warmUp`). */
  readonly warmupRuns: number;
  readonly samples: readonly FlowStats[];
}

export interface FlowScenarioResult extends RunDescription {
  readonly kind: 'flow';
  readonly service: ServiceModel;
  readonly repetitions: number;
  readonly contenders: readonly FlowContenderResult[];
  readonly targets: readonly TargetResult[];
}

/** The simulated service: `baseMs + perItemMs * batchSize` per call, at most `concurrency` calls served at once. */
export interface ServiceModel {
  readonly baseMs: number;
  readonly perItemMs: number;
  readonly concurrency: number;
  readonly maxBatchDelayMs: number;
}

/** One way of taking (part of) a checkpoint of the CK state: how long it took and what it stored. */
export interface CheckpointProbeResult extends ContenderInfo {
  /** Median of the repetitions. */
  readonly durationMs: number;
  readonly durationSamples: readonly number[];
  /** Bytes stored (or serialized); undefined when the probe stores nothing. */
  readonly sizeBytes: number | undefined;
  /** Keys in the snapshot and the sum of their values. */
  readonly checksum: Checksum;
}

/**
 * CK (issue 5): the checkpoint of 100,000 keys of `ValueState` (time from
 * trigger to completion, and size), and what checkpointing every
 * `intervalMs` costs S3 and S4 (one CPU table per pipeline, without and with).
 */
export interface CheckpointScenarioResult extends RunDescription {
  readonly kind: 'checkpoint';
  readonly keys: number;
  readonly intervalMs: number;
  readonly repetitions: number;
  readonly probes: readonly CheckpointProbeResult[];
  /** S3 and S4, each without and with checkpointing; stats `periodicCheckpoints` per measured run. */
  readonly overhead: readonly CpuScenarioResult[];
  readonly targets: readonly TargetResult[];
}

/** One phase of a service whose costs change mid-run (S8): a call of n records takes `baseMs + perItemMs * n`. */
export interface PhaseModel {
  readonly baseMs: number;
  readonly perItemMs: number;
  /** Records pulled while the service costs this. */
  readonly records: number;
}

/** What a contender did in one phase: medians over the repetitions. */
export interface PhaseFigures {
  /** Records served in the phase (their call made while the service was in it) over the span from its first call to their last delivery. */
  readonly recordsPerSecond: number;
  /** From a record's pull off the source to its delivery to the sink, ms. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /**
   * p95 of the records pulled once a call of the phase had returned (from then on a contender
   * could know the service changed); the others were already held, in batches sized for the phase before.
   * 0: every record was pulled before.
   */
  readonly p95KnownMs: number;
  /** Records served in the phase that were pulled before its first call returned. */
  readonly heldAtChange: number;
  readonly meanBatch: number;
}

export interface PhasedContenderResult extends ContenderInfo {
  /** Medians over the repetitions. */
  readonly phases: readonly PhaseFigures[];
  /** Every repetition's figures, for their spread. */
  readonly runs: readonly (readonly PhaseFigures[])[];
}

/** A scenario whose service changes cost mid-run (S8): throughput and latency per phase. */
export interface PhasedScenarioResult extends RunDescription {
  readonly kind: 'phased';
  readonly phases: readonly PhaseModel[];
  readonly concurrency: number;
  readonly targetLatencyMs: number;
  readonly repetitions: number;
  readonly contenders: readonly PhasedContenderResult[];
  readonly targets: readonly TargetResult[];
}

export type ScenarioResult = CpuScenarioResult | FlowScenarioResult | CheckpointScenarioResult | PhasedScenarioResult;

/** The JSON file the docs and charts are generated from. */
export interface ResultsFile {
  readonly schema: typeof RESULTS_SCHEMA;
  readonly scenarios: Partial<Record<ScenarioId, ScenarioResult>>;
}
