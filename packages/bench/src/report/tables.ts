import type { CheckpointScenarioResult, CpuContenderResult, CpuScenarioResult, FlowScenarioResult, PhasedScenarioResult, ScenarioResult, TargetResult } from '../harness/model.js';
import { median } from '../harness/measure.js';
import { figureOf } from '../harness/targets.js';

/** A table as cells; the console and the markdown renderers lay it out. */
export interface Table {
  readonly headers: readonly string[];
  /** `right` for numeric columns. */
  readonly align: readonly ('left' | 'right')[];
  readonly rows: readonly (readonly string[])[];
}

/**
 * How a figure is rounded at the digits a formatter shows: to nearest for
 * tables, towards failing for targets (see {@link targetTable}).
 */
type Rounding = (x: number) => number;

/** `value` rounded with `round` at `digits` decimals. */
function roundAt(value: number, digits: number, round: Rounding): number {
  return round(value * 10 ** digits) / 10 ** digits;
}

/** ns per record: one decimal below 100, whole numbers with separators above. */
export function formatNs(ns: number, round: Rounding = Math.round): string {
  return ns < 100 ? roundAt(ns, 1, round).toFixed(1) : roundAt(ns, 0, round).toLocaleString('en-US');
}

export function formatRatio(ratio: number, round: Rounding = Math.round): string {
  return ratio < 10 ? `${roundAt(ratio, 2, round).toFixed(2)}x` : `${roundAt(ratio, 1, round).toFixed(1)}x`;
}

export function formatPercent(p: number, round: Rounding = Math.round): string {
  return `${roundAt(p, 1, round).toFixed(1)}%`;
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatMb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/** Column headers of the per-run stats contenders report (`RunStats.stats`). */
const STAT_LABELS: Record<string, string> = {
  periodicCheckpoints: 'periodic checkpoints per run',
  callLatencyP50Ms: 'model call p50 (ms)',
  callLatencyP95Ms: 'model call p95 (ms)',
  loopDelayP99Us: 'event-loop delay p99 (µs)',
};

/** A stat's median and range over the measured runs, e.g. `7 (6-8)`. */
function statCell(samples: readonly number[] | undefined): string {
  if (samples === undefined || samples.length === 0) return '-';
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  const mid = formatInt(median(samples));
  return min === max ? mid : `${mid} (${formatInt(min)}-${formatInt(max)})`;
}

/**
 * The table of a CPU scenario: best samples, the ratios against the hand loop
 * and against Tributary, and the median and worst of the samples; records
 * per second when the scenario names its records (S5: embeddings/s), and
 * the stats its contenders report.
 */
export function cpuTable(r: CpuScenarioResult): Table {
  const baseline = figureOf(r.contenders, r.baseline, (c) => c.cpuNsPerRecord);
  const subject = figureOf(r.contenders, r.subject, (c) => c.cpuNsPerRecord);
  const baselineLabel = r.contenders.find((c) => c.id === r.baseline)?.label ?? r.baseline;
  const subjectLabel = r.subject === 'tributary' ? 'Tributary' : (r.contenders.find((c) => c.id === r.subject)?.label ?? r.subject);
  const stats = [...new Set(r.contenders.flatMap((c) => Object.keys(c.stats ?? {})))];
  // With two rows the second ratio is the first one inverted.
  const vsSubject = r.contenders.length > 2;
  const rate = (c: CpuContenderResult): string[] => (r.unit === undefined ? [] : [formatInt(1e9 / c.wallNsPerRecord)]);
  return {
    headers: [
      'contender',
      'ns CPU/record (best)',
      'ns wall/record (best)',
      ...(r.unit === undefined ? [] : [`${r.unit}/s (wall)`]),
      `CPU vs ${baselineLabel}`,
      ...(vsSubject ? [`CPU vs ${subjectLabel}`] : []),
      'ns CPU/record (median)',
      'ns CPU/record (worst)',
      ...stats.map((name) => STAT_LABELS[name] ?? name),
    ],
    align: ['left', ...new Array<'right'>(5 + (vsSubject ? 1 : 0) + (r.unit === undefined ? 0 : 1) + stats.length).fill('right')],
    rows: r.contenders.map((c) => {
      const label = c.extra ? `${c.label} (extra)` : c.label;
      return [
        label,
        formatNs(c.cpuNsPerRecord),
        formatNs(c.wallNsPerRecord),
        ...rate(c),
        formatRatio(c.cpuNsPerRecord / baseline),
        ...(vsSubject ? [formatRatio(c.cpuNsPerRecord / subject)] : []),
        formatNs(median(c.cpuSamples)),
        formatNs(Math.max(...c.cpuSamples)),
        ...stats.map((name) => statCell(c.stats?.[name])),
      ];
    }),
  };
}

/** Milliseconds: two decimals below 10, one below 100, whole numbers above. */
export function formatMs(ms: number, round: Rounding = Math.round): string {
  return ms < 10 ? roundAt(ms, 2, round).toFixed(2) : ms < 100 ? roundAt(ms, 1, round).toFixed(1) : formatInt(roundAt(ms, 0, round));
}

/** The checkpoint table of CK: each probe's duration and what it stored. */
export function checkpointTable(r: CheckpointScenarioResult): Table {
  return {
    headers: ['what', 'ms (median)', 'ms spread (min-max)', 'size (MiB)', 'bytes per key', 'keys checked'],
    align: ['left', 'right', 'right', 'right', 'right', 'right'],
    rows: r.probes.map((p) => [
      p.extra ? `${p.label} (extra)` : p.label,
      formatMs(p.durationMs),
      `${formatMs(Math.min(...p.durationSamples))}-${formatMs(Math.max(...p.durationSamples))}`,
      p.sizeBytes === undefined ? '-' : (p.sizeBytes / 2 ** 20).toFixed(2),
      p.sizeBytes === undefined ? '-' : (p.sizeBytes / r.keys).toFixed(1),
      formatInt(p.checksum.count),
    ]),
  };
}

/**
 * What one half of CK's overhead part says, in a sentence: the CPU and wall
 * ratios with checkpointing, and how many checkpoints they paid for. When a
 * run completed no periodic checkpoint the ratio says nothing about
 * checkpointing every 100 ms, and the sentence says so instead.
 */
export function overheadSummary(part: CpuScenarioResult, intervalMs: number): string {
  const row = (id: string): CpuContenderResult => {
    const found = part.contenders.find((c) => c.id === id);
    if (found === undefined) throw new Error(`no contender '${id}' in ${part.title}`);
    return found;
  };
  const without = row(part.baseline);
  const withCk = row(part.subject);
  const periodic = withCk.stats?.['periodicCheckpoints'] ?? [];
  const runMs = (withCk.wallNsPerRecord * part.records) / 1e6;
  const cpuRatio = withCk.cpuNsPerRecord / without.cpuNsPerRecord;
  const wallRatio = withCk.wallNsPerRecord / without.wallNsPerRecord;
  const none = periodic.filter((n) => n === 0).length;
  if (periodic.length === 0 || none > 0) {
    return (
      `No periodic checkpoint completed in ${none} of ${periodic.length} runs (a run took ${formatInt(runMs)} ms, the interval is ${intervalMs} ms), ` +
      `so the ratio (${formatRatio(cpuRatio)} CPU) shows only what enabling checkpointing costs a job that ends first (its final checkpoint, stored ` +
      'with fsync), not the cost of checkpointing every 100 ms. The collection source yields to the event loop every 16 chunks of 256 records, ' +
      'so a run longer than the interval does complete checkpoints: measure with more records.'
    );
  }
  const checkpoints = median(periodic);
  const extraCpuMs = ((withCk.cpuNsPerRecord - without.cpuNsPerRecord) * part.records) / 1e6;
  const perCheckpoint =
    extraCpuMs > 0 ? `${formatMs(extraCpuMs / (checkpoints + 1))} ms of extra CPU per checkpoint` : 'no extra CPU measurable above the noise';
  return (
    `Checkpointing every ${intervalMs} ms: ${formatRatio(cpuRatio)} the CPU per record and ${formatRatio(wallRatio)} the wall time ` +
    `(${formatInt(checkpoints)} periodic checkpoints completed per run of ${formatInt(runMs)} ms, plus the final one; ${perCheckpoint}).`
  );
}

/** The table of a service-bound scenario: throughput against the bound, and what each contender held in memory. */
export function flowTable(r: FlowScenarioResult): Table {
  const live = r.contenders.some((c) => c.samples.some((s) => s.peakLiveHeapDeltaBytes !== undefined));
  return {
    headers: [
      'contender',
      'batch',
      'records',
      'records/s',
      '% of bound',
      'service busy',
      'ms per call',
      'peak records in flight',
      'peak heap above start (MB)',
      ...(live ? ['peak live heap above start (MB)'] : []),
      'calls',
      'mean batch',
    ],
    align: ['left', ...new Array<'right'>(live ? 11 : 10).fill('right')],
    rows: r.contenders.map((c) => {
      const label = c.extra ? `${c.label} (extra)` : c.label;
      const s = c.samples;
      return [
        label,
        String(c.batchSize),
        formatInt(c.records),
        formatInt(c.recordsPerSecond),
        formatPercent(c.percentOfBound),
        formatPercent(median(s.map((x) => (100 * x.serviceBusyMs) / (r.service.concurrency * x.wallMs)))),
        median(s.map((x) => (x.calls === 0 ? 0 : x.serviceBusyMs / x.calls))).toFixed(1),
        formatInt(Math.max(...s.map((x) => x.peakInFlight))),
        formatMb(Math.max(...s.map((x) => x.peakHeapDeltaBytes))),
        ...(live ? [formatMb(Math.max(...s.map((x) => x.peakLiveHeapDeltaBytes ?? 0)))] : []),
        formatInt(median(s.map((x) => x.calls))),
        median(s.map((x) => x.meanBatchSize)).toFixed(1),
      ];
    }),
  };
}

/** The main table of a result (CK: its checkpoint table; its overhead tables come from {@link cpuTable}). */
export function tableOf(r: ScenarioResult): Table {
  switch (r.kind) {
    case 'cpu':
      return cpuTable(r);
    case 'flow':
      return flowTable(r);
    case 'checkpoint':
      return checkpointTable(r);
    case 'phased':
      return phasedTable(r);
  }
}

/**
 * The table of a phased scenario (S8): per phase and contender, records/s against the oracle's and
 * latency percentiles (medians; the spread of the repetitions in brackets), then the records
 * pulled before the phase's first call returned (no contender could know of the change yet) and
 * the p95 of the others.
 */
export function phasedTable(r: PhasedScenarioResult): Table {
  const oracle = r.contenders.find((c) => c.id === 'oracle');
  return {
    headers: ['phase', 'contender', 'records/s', 'of the oracle', 'p50 ms', 'p95 ms', 'p99 ms', 'pulled before a call returned', 'p95 of the rest, ms', 'mean batch'],
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: r.phases.flatMap((p, k) =>
      r.contenders.map((c) => {
        const f = c.phases[k];
        const base = oracle?.phases[k]?.recordsPerSecond;
        if (f === undefined) return [String(k + 1), c.label, '', '', '', '', '', '', '', ''];
        const each = c.runs.map((run) => run[k]).filter((x) => x !== undefined);
        const spread = (pick: (x: (typeof each)[number]) => number, format: (x: number) => string): string => {
          if (each.length < 2) return '';
          const values = each.map(pick);
          return ` (${format(Math.min(...values))}–${format(Math.max(...values))})`;
        };
        const ratio = (x: number): string => formatRatio(x, Math.floor);
        return [
          `${k + 1} (${p.baseMs} + ${p.perItemMs} n ms)`,
          c.label,
          formatInt(f.recordsPerSecond),
          base === undefined || base === 0 ? '' : ratio(f.recordsPerSecond / base) + spread((x) => x.recordsPerSecond / base, ratio),
          formatMs(f.p50Ms),
          formatMs(f.p95Ms) + spread((x) => x.p95Ms, (x) => formatMs(x)),
          formatMs(f.p99Ms),
          formatInt(f.heldAtChange),
          f.p95KnownMs === 0 ? '-' : formatMs(f.p95KnownMs) + spread((x) => x.p95KnownMs, (x) => formatMs(x)),
          f.meanBatch.toFixed(1),
        ];
      }),
    ),
  };
}

/**
 * The targets of a run: label, figure, met or not. Figures are rounded
 * towards failing (an "at least 3x" figure of 2.996 shows as 2.99x), so
 * the printed number never contradicts the verdict next to it.
 */
export function targetTable(targets: readonly TargetResult[], scenarioKind: ScenarioResult['kind']): Table {
  // A scenario's own figure: ns of CPU per record, % of the bound (service-bound), or a checkpoint's ms.
  const figureUnit = scenarioKind === 'flow' ? 'percent' : scenarioKind === 'checkpoint' || scenarioKind === 'phased' ? 'ms' : 'ns';
  return {
    headers: ['target', 'measured', 'met'],
    align: ['left', 'right', 'left'],
    rows: targets.map((t) => {
      const unit = t.measure === 'ratio' ? 'ratio' : t.measure === 'stat' ? 'count' : figureUnit;
      const round = t.bound === 'at-least' ? Math.floor : Math.ceil;
      return [t.label, formatFigure(unit, t.value, round), t.met ? 'yes' : 'NO'];
    }),
  };
}

/** A target's figure in its unit, rounded with `round` at the digits shown. */
function formatFigure(unit: 'ns' | 'ms' | 'percent' | 'ratio' | 'count', value: number, round: Rounding): string {
  switch (unit) {
    case 'count':
      return formatInt(round(value));
    case 'ns':
      return `${formatNs(value, round)} ns`;
    case 'ms':
      return `${formatMs(value, round)} ms`;
    case 'percent':
      return formatPercent(value, round);
    case 'ratio':
      return formatRatio(value, round);
  }
}
