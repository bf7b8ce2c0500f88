import type { CpuScenarioResult, FlowScenarioResult, ScenarioResult, TargetResult } from '../harness/model.js';
import { median } from '../harness/measure.js';
import { figureOf } from '../harness/targets.js';

/** A table as cells; the console and the markdown renderers lay it out. */
export interface Table {
  readonly headers: readonly string[];
  /** `right` for numeric columns. */
  readonly align: readonly ('left' | 'right')[];
  readonly rows: readonly (readonly string[])[];
}

/** ns per record: one decimal below 100, whole numbers with separators above. */
export function formatNs(ns: number): string {
  return ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString('en-US');
}

export function formatRatio(ratio: number): string {
  return `${ratio < 10 ? ratio.toFixed(2) : ratio.toFixed(1)}x`;
}

export function formatPercent(p: number): string {
  return `${p.toFixed(1)}%`;
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatMb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/** The table of a CPU scenario: medians and the ratios against the hand loop and against Tributary. */
export function cpuTable(r: CpuScenarioResult): Table {
  const baseline = figureOf(r.contenders, r.baseline, (c) => c.cpuNsPerRecord);
  const subject = figureOf(r.contenders, r.subject, (c) => c.cpuNsPerRecord);
  const baselineLabel = r.contenders.find((c) => c.id === r.baseline)?.label ?? r.baseline;
  return {
    headers: ['contender', 'ns CPU/record', 'ns wall/record', `CPU vs ${baselineLabel}`, 'CPU vs Tributary', 'CPU spread (min-max)'],
    align: ['left', 'right', 'right', 'right', 'right', 'right'],
    rows: r.contenders.map((c) => {
      const label = c.extra ? `${c.label} (extra)` : c.label;
      const min = Math.min(...c.cpuSamples);
      const max = Math.max(...c.cpuSamples);
      return [
        label,
        formatNs(c.cpuNsPerRecord),
        formatNs(c.wallNsPerRecord),
        formatRatio(c.cpuNsPerRecord / baseline),
        formatRatio(c.cpuNsPerRecord / subject),
        `${formatNs(min)}-${formatNs(max)}`,
      ];
    }),
  };
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

export function tableOf(r: ScenarioResult): Table {
  return r.kind === 'cpu' ? cpuTable(r) : flowTable(r);
}

/**
 * The targets of a run: label, figure, met or not. Figures are rounded
 * towards failing (an "at least 3x" figure of 2.996 shows as 2.99x), so
 * the printed number never contradicts the verdict next to it.
 */
export function targetTable(targets: readonly TargetResult[], unit: 'ratio' | 'ns' | 'percent'): Table {
  return {
    headers: ['target', 'measured', 'met'],
    align: ['left', 'right', 'left'],
    rows: targets.map((t) => {
      const round = t.bound === 'at-least' ? Math.floor : Math.ceil;
      const at = (digits: number): number => round(t.value * 10 ** digits) / 10 ** digits;
      const text =
        unit === 'ns' ? `${formatNs(t.value < 100 ? at(1) : at(0))} ns` : unit === 'percent' ? formatPercent(at(1)) : formatRatio(at(t.value < 10 ? 2 : 1));
      return [t.label, text, t.met ? 'yes' : 'NO'];
    }),
  };
}
