import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuScenarioResult, PhasedScenarioResult, ResultsFile, ScenarioId, ScenarioResult } from '../harness/model.js';
import { MEMORY_SERVICE, S1_BATCH } from '../scenarios/asyncService.js';
import { batchCapacity } from '../scenarios/batchPipelines.js';
import { renderMarkdownTable } from './markdown.js';
import { niceMax, renderBarChart, renderLineChart, type Bar, type Series } from './svg.js';
import { MEASURED_RUNS, WARMUP_CALLS } from '../harness/sampling.js';
import { median } from '../harness/measure.js';
import { serviceBound } from '../harness/flowRunner.js';
import { S5_BATCH } from '../scenarios/onnxEmbedding.js';
import { summaryValues } from './summary.js';
import { cpuTable, formatInt, formatMs, formatNs, formatPercent, formatRatio, overheadSummary, tableOf, targetTable } from './tables.js';
import { renderTemplate, type TemplateValues } from './template.js';

export interface DocPaths {
  readonly docs: string;
  readonly charts: string;
}

/** One colour per contender, the same in every chart. */
const COLORS: Record<string, string> = {
  tributary: '#2563eb',
  'tributary-ordered': '#60a5fa',
  'tributary-array': '#93c5fd',
  'tributary-reduce': '#60a5fa',
  'tributary-p2': '#93c5fd',
  'tributary-per-record': '#f59e0b',
  'hand-loop': '#4b5563',
  'hand-loop-array': '#9ca3af',
  'tributary-adaptive': '#16a34a',
  rxjs: '#db2777',
  effect: '#7c3aed',
  'node-streams': '#059669',
  'tributary-checkpointing': '#f59e0b',
  'file-storage': '#059669',
  'keyed-snapshot': '#93c5fd',
  serialize: '#a7f3d0',
  'hand-loop-per-record': '#9ca3af',
  'hand-loop-warm-session': '#d1d5db',
};
const colorOf = (id: string): string => COLORS[id] ?? '#6b7280';

/** The charts, by file name. */
function charts(results: ResultsFile): Map<string, string> {
  const out = new Map<string, string>();
  const cpuChart = (id: ScenarioId, file: string): void => {
    const r = results.scenarios[id];
    if (r?.kind !== 'cpu') return;
    out.set(
      file,
      renderBarChart({
        title: `${r.id}: ${r.title}`,
        subtitle: `ns of CPU per record, best of ${samplesOf(r)} over ${formatInt(r.records)} records; shorter is better`,
        unit: 'ns CPU / record',
        bars: r.contenders.map((c): Bar => ({
          label: c.extra ? `${c.label} *` : c.label,
          value: c.cpuNsPerRecord,
          color: colorOf(c.id),
          text: `${formatNs(c.cpuNsPerRecord)} ns`,
        })),
      }),
    );
  };
  cpuChart('S3', 's3-ns-per-record.svg');
  cpuChart('S4', 's4-ns-per-record.svg');
  cpuChart('S2', 's2-ns-per-record.svg');

  const ck = results.scenarios.CK;
  if (ck?.kind === 'checkpoint') {
    out.set(
      'ck-checkpoint-ms.svg',
      renderBarChart({
        title: `CK: a checkpoint of ${formatInt(ck.keys)} keys of ValueState`,
        subtitle: `ms, median of ${ck.repetitions}; the job's row is trigger to stored, the others parts of it; shorter is better`,
        unit: 'ms',
        bars: ck.probes.map((p): Bar => ({
          label: p.extra ? `${p.label} *` : p.label,
          value: p.durationMs,
          color: colorOf(p.id),
          text: `${formatMs(p.durationMs)} ms`,
        })),
      }),
    );
    out.set(
      'ck-overhead.svg',
      renderBarChart({
        title: `CK: S3 and S4 without and with a checkpoint every ${ck.intervalMs} ms`,
        subtitle: `ns of CPU per record, best of ${[...new Set(ck.overhead.map(samplesOf))].join(' / ')}; shorter is better`,
        unit: 'ns CPU / record',
        bars: ck.overhead.flatMap((part) =>
          part.contenders.map((c): Bar => ({ label: c.label, value: c.cpuNsPerRecord, color: colorOf(c.id), text: `${formatNs(c.cpuNsPerRecord)} ns` })),
        ),
      }),
    );
  }

  const s5 = results.scenarios.S5;
  if (s5?.kind === 'cpu') {
    out.set(
      's5-embeddings-per-second.svg',
      renderBarChart({
        title: `S5: ${s5.title}`,
        subtitle: `embeddings per second (wall), best of ${samplesOf(s5)} over ${formatInt(s5.records)} texts; longer is better`,
        unit: 'embeddings / s',
        bars: s5.contenders.map((c): Bar => ({
          label: c.extra ? `${c.label} *` : c.label,
          value: 1e9 / c.wallNsPerRecord,
          color: colorOf(c.id),
          text: formatInt(1e9 / c.wallNsPerRecord),
        })),
      }),
    );
  }

  const s1 = results.scenarios.S1;
  if (s1?.kind === 'flow') {
    out.set(
      's1-percent-of-bound.svg',
      renderBarChart({
        title: 'S1: throughput against the simulated service',
        subtitle: `% of the bound (${formatInt(s1.contenders[0]?.boundRecordsPerSecond ?? 0)} records/s at batch 64), median of ${s1.repetitions}; longer is better`,
        unit: '% of bound',
        reference: { value: 100, label: 'bound' },
        max: 120,
        bars: s1.contenders.map((c): Bar => ({
          label: c.label,
          value: c.percentOfBound,
          color: colorOf(c.id),
          text: formatPercent(c.percentOfBound),
        })),
      }),
    );
  }
  const sweep = results.scenarios['S1-sweep'];
  if (sweep?.kind === 'flow') {
    const ids = [...new Set(sweep.contenders.map((c) => c.id))];
    const xTicks = [...new Set(sweep.contenders.map((c) => c.batchSize))].sort((a, b) => a - b);
    const rate = (label: string, b: number): number =>
      sweep.contenders.find((c) => c.label === label && c.batchSize === b)?.recordsPerSecond ?? 0;
    const series: Series[] = ids.map((id) => {
      const rows = sweep.contenders.filter((c) => c.id === id);
      return {
        name: rows[0]?.label ?? id,
        color: colorOf(id),
        dashed: id === 'tributary-per-record',
        points: rows.map((c) => [c.batchSize, c.percentOfBound] as const),
      };
    });
    out.set(
      's1-batch-size-sweep.svg',
      renderLineChart({
        title: 'S1 service: % of the bound vs batch size',
        subtitle: 'bound at batch b = 4 * b / (10 + 0.05 * b) ms; per-record makes one call per record at every b',
        xLabel: 'batch size (log scale)',
        yLabel: '% of the bound at that batch size',
        xTicks,
        // Timer jitter can put a point a little above 100%; the axis stops at 120.
        yMax: 120,
        series,
      }),
    );
    const bound: Series = {
      name: 'the bound',
      color: '#9ca3af',
      dashed: true,
      points: xTicks.map((b) => [b, serviceBound(sweep.service, b)] as const),
    };
    out.set(
      's1-batch-size-throughput.svg',
      renderLineChart({
        title: 'S1 service: records per second vs batch size',
        subtitle: 'what batching buys: per-record calls stay near 4 / 10 ms whatever the batch size',
        xLabel: 'batch size (log scale)',
        yLabel: 'records per second',
        xTicks,
        yMax: niceMax(Math.max(...bound.points.map(([, y]) => y), ...sweep.contenders.map((c) => c.recordsPerSecond))),
        series: [bound, ...series.map((s) => ({ ...s, points: s.points.map(([b]) => [b, rate(s.name, b)] as const) }))],
      }),
    );
  }
  const s8 = results.scenarios.S8;
  if (s8?.kind === 'phased') out.set('s8-adaptive-phases.svg', s8Chart(s8));
  const memory = results.scenarios['S1-memory'];
  if (memory?.kind === 'flow') {
    out.set(
      's1-memory.svg',
      renderBarChart({
        title: `Memory: ${formatInt(memory.contenders[0]?.records ?? 0)} records from a generator into the service`,
        subtitle: 'peak live heap (after a forced GC) above the heap in use at the start of the run; shorter is better',
        unit: 'MB',
        bars: memory.contenders.map((c): Bar => {
          const peak = Math.max(...c.samples.map((s) => s.peakLiveHeapDeltaBytes ?? s.peakHeapDeltaBytes)) / 2 ** 20;
          return { label: c.label, value: peak, color: colorOf(c.id), text: `${peak.toFixed(1)} MB` };
        }),
      }),
    );
  }
  return out;
}

/** S8: each contender's records/s in each phase, as a share of the oracle's. */
export function s8Chart(r: PhasedScenarioResult): string {
  const oracle = r.contenders.find((c) => c.id === 'oracle');
  return renderBarChart({
    title: `S8: ${r.title}`,
    subtitle: `records/s as % of the best fixed size of each phase (the oracle), median of ${r.repetitions}; longer is better`,
    unit: '% of the oracle',
    reference: { value: 100, label: 'oracle' },
    max: 120,
    bars: r.phases.flatMap((p, k) =>
      r.contenders
        .filter((c) => c.id !== 'oracle')
        .map((c): Bar => {
          const share = (100 * (c.phases[k]?.recordsPerSecond ?? 0)) / (oracle?.phases[k]?.recordsPerSecond || 1);
          return { label: `phase ${k + 1} (${p.baseMs} + ${p.perItemMs} n ms): ${c.label}`, value: share, color: colorOf(c.id), text: `${formatPercent(share)}, p95 ${formatMs(c.phases[k]?.p95Ms ?? 0)} ms` };
        }),
    ),
  });
}

/** The template docs/benchmarks.md is rendered from: the prose lives there, the figures come from the results. */
const TEMPLATE = fileURLToPath(new URL('../../templates/benchmarks.md', import.meta.url));

/** Writes docs/benchmarks.md and docs/benchmarks/*.svg from the results; returns the paths written. */
export function writeDocs(results: ResultsFile, paths: DocPaths): string[] {
  mkdirSync(paths.charts, { recursive: true });
  const written: string[] = [];
  for (const [file, svg] of charts(results)) {
    const path = join(paths.charts, file);
    writeFileSync(path, svg);
    written.push(path);
  }
  writeFileSync(paths.docs, renderDocs(results, relative(dirname(paths.docs), paths.charts).replaceAll('\\', '/')));
  written.push(paths.docs);
  return written;
}

/** The page: the template filled with the results, its charts linked from `chartsDir` (relative to the page). */
export function renderDocs(results: ResultsFile, chartsDir: string): string {
  return renderTemplate(readFileSync(TEMPLATE, 'utf8'), { ...docValues(results), ...summaryValues(results), charts: chartsDir });
}

/** The scenarios in the order of the template's sections, which is also the order of the targets table. */
const SECTION_ORDER: readonly ScenarioId[] = ['S3', 'S4', 'S1', 'S1-sweep', 'S1-memory', 'S2', 'CK', 'S5', 'S5b', 'S6', 'S7', 'S4-edge', 'S8'];

/** The template's values other than the summary's: the machine, the targets, and each scenario's tables and lists. */
function docValues(results: ResultsFile): TemplateValues {
  const all = SECTION_ORDER.flatMap((id) => {
    const r = results.scenarios[id];
    return r === undefined ? [] : [r];
  });
  const values: Record<string, string | boolean> = {
    measuredRuns: String(MEASURED_RUNS),
    warmupCalls: formatInt(WARMUP_CALLS),
    machine: machineOf(all),
    targets: all.some((r) => r.targets.length > 0)
      ? renderMarkdownTable({
          headers: ['scenario', 'target', 'measured', 'met'],
          align: ['left', 'left', 'right', 'left'],
          rows: all.flatMap((r) => targetTable(r.targets, r.kind).rows.map((row) => [r.id, ...row])),
        })
      : '',
  };
  for (const id of SECTION_ORDER) values[id] = false;
  for (const r of all) {
    values[r.id] = true;
    values[`${r.id}.description`] = r.description;
    values[`${r.id}.table`] = renderMarkdownTable(tableOf(r));
    values[`${r.id}.contenders`] = describeContenders(r);
    values[`${r.id}.measured`] = measuredLine(r);
    if (r.kind === 'checkpoint') {
      values[`${r.id}.intervalMs`] = String(r.intervalMs);
      values[`${r.id}.overhead`] = r.overhead
        .map((part) => `**${part.title}** (${formatInt(part.records)} records)\n\n${renderMarkdownTable(cpuTable(part))}\n\n${overheadSummary(part, r.intervalMs)}\n`)
        .join('\n');
    }
  }
  values['S1-memory.capacity'] = String(batchCapacity(S1_BATCH, MEMORY_SERVICE.concurrency));
  values['S1-memory.msPerCall'] = formatMs(MEMORY_SERVICE.baseMs + MEMORY_SERVICE.perItemMs * S1_BATCH);
  const s5 = results.scenarios.S5;
  Object.assign(values, s5?.kind === 'cpu' ? s5Figures(s5) : {});
  const s5b = results.scenarios.S5b;
  Object.assign(values, s5b?.kind === 'cpu' ? s5bFigures(s5b) : {});
  return values;
}

/** S5b's figures of issue 21: the embeddings/s of 2 calls in flight over 1, and the event-loop delay p99 of each. */
function s5bFigures(r: CpuScenarioResult): TemplateValues {
  const one = r.contenders.find((c) => c.id === 'in-flight-1');
  const two = r.contenders.find((c) => c.id === 'in-flight-2');
  if (one === undefined || two === undefined) return { 'S5b.ratios': false };
  const delay = (samples: readonly number[] | undefined): string =>
    samples === undefined || samples.length === 0
      ? '-'
      : `${formatMs(median(samples) / 1_000)} ms (${formatMs(Math.min(...samples) / 1_000)}-${formatMs(Math.max(...samples) / 1_000)} ms)`;
  return {
    'S5b.ratios': true,
    'S5b.speedup': formatRatio(one.wallNsPerRecord / two.wallNsPerRecord),
    'S5b.delay1': delay(one.stats?.['loopDelayP99Us']),
    'S5b.delay2': delay(two.stats?.['loopDelayP99Us']),
    // CPU over wall time: how many cores the process had on average; three busy threads could use both.
    'S5b.cores1': (one.cpuNsPerRecord / one.wallNsPerRecord).toFixed(2),
    'S5b.cores2': (two.cpuNsPerRecord / two.wallNsPerRecord).toFixed(2),
  };
}

/** The newest run's machine, and the notes stored with the runs, or '' without results. */
function machineOf(all: readonly ScenarioResult[]): string {
  const newest = all.reduce<ScenarioResult | undefined>((a, b) => (a === undefined || b.measuredAt > a.measuredAt ? b : a), undefined);
  if (newest === undefined) return '';
  const e = newest.environment;
  const notes = [...new Set(all.flatMap((r) => (r.note === undefined ? [] : [r.note])))];
  return [`Node ${e.node} (V8 ${e.v8}) on ${e.platform}, ${e.cpus} cores (${e.cpuModel}), ${e.totalMemoryGb} GB.`, ...notes.map((note) => `> ${note}`)].join('\n\n');
}

/** S5's two figures of issue 6, batch 64 vs per record and Tributary vs the hand-written loop, as ratios for the template's sentences. */
function s5Figures(r: CpuScenarioResult): TemplateValues {
  const row = (id: string) => r.contenders.find((c) => c.id === id);
  const batched = row('tributary');
  const perRecord = row('tributary-per-record');
  const hand = row('hand-loop');
  if (batched === undefined || perRecord === undefined || hand === undefined) return { 'S5.ratios': false, 'S5.warm': false };
  const warmHand = row('hand-loop-warm-session');
  const warmTributary = row('tributary-warm-session');
  const inThread = row('tributary-in-thread');
  return {
    'S5.ratios': true,
    'S5.batch': String(S5_BATCH),
    'S5.perRecordWall': formatRatio(perRecord.wallNsPerRecord / batched.wallNsPerRecord),
    'S5.perRecordCpu': formatRatio(perRecord.cpuNsPerRecord / batched.cpuNsPerRecord),
    'S5.handCpu': formatRatio(batched.cpuNsPerRecord / hand.cpuNsPerRecord),
    'S5.handWall': formatRatio(batched.wallNsPerRecord / hand.wallNsPerRecord),
    ...(warmHand === undefined || warmTributary === undefined
      ? { 'S5.warm': false }
      : {
          'S5.warm': true,
          'S5.warmCpu': formatRatio(warmTributary.cpuNsPerRecord / warmHand.cpuNsPerRecord),
          'S5.warmWall': formatRatio(warmTributary.wallNsPerRecord / warmHand.wallNsPerRecord),
          'S5.sessionCost': formatRatio(hand.cpuNsPerRecord / warmHand.cpuNsPerRecord),
        }),
    ...(inThread === undefined
      ? { 'S5.inThread': false }
      : {
          'S5.inThread': true,
          'S5.inThreadCpu': formatRatio(inThread.cpuNsPerRecord / hand.cpuNsPerRecord),
          // What a call's trip to the session worker and back costs: the default row's CPU over the in-thread row's, per call.
          'S5.hopUs': formatInt(((batched.cpuNsPerRecord - inThread.cpuNsPerRecord) * S5_BATCH) / 1_000),
        }),
  };
}

/** One line per contender (each once), saying how it is built. */
function describeContenders(r: ScenarioResult): string {
  const seen = new Set<string>();
  const out: string[] = [];
  const rows = r.kind === 'checkpoint' ? [...r.probes, ...r.overhead.flatMap((part) => part.contenders)] : r.contenders;
  for (const c of rows) {
    const key = `${c.id} ${c.label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(`- **${c.label}**: ${c.note}`);
  }
  return out.join('\n');
}

/** "2 warm-up runs of that size", and how many the rows that make few calls per run had instead (see `warmupRunsFor`). */
function warmupsOf(r: CpuScenarioResult): string {
  const fewest = Math.min(...r.contenders.map((c) => c.warmupRuns));
  const more = r.contenders.filter((c) => c.warmupRuns !== fewest);
  const runs = [...new Set(more.map((c) => c.warmupRuns))].join(' or ');
  const extra = more.length === 0 ? '' : ` (${runs} for the ${more.length} rows that make fewer calls per run: ${formatInt(WARMUP_CALLS)} calls of their per-batch code, see Method)`;
  return `${fewest} warm-up runs of that size${extra}`;
}

/** "9 samples, each the median of 5 runs": what a CPU scenario's figures are the best of. */
function samplesOf(r: CpuScenarioResult): string {
  return `${r.repetitions} samples, each the median of ${r.measuredRuns} runs`;
}

function measuredLine(r: ScenarioResult): string {
  const e = r.environment;
  const runs =
    r.kind === 'cpu'
      ? `${formatInt(r.records)} records, ${samplesOf(r)} after ${warmupsOf(r)}${r.isolated ? ', each in a fresh process' : ', all in one process'}`
      : r.kind === 'checkpoint'
        ? `${formatInt(r.keys)} keys, ${r.repetitions} repetitions after a warm-up; S3/S4 over ${r.overhead.map((p) => formatInt(p.records)).join(' / ')} records, ${[...new Set(r.overhead.map(samplesOf))].join(' / ')}`
        : r.kind === 'phased'
          ? `${r.phases.map((p) => formatInt(p.records)).join(' / ')} records per phase, median of ${r.repetitions} repetitions; ${r.concurrency} calls at once, latency target ${r.targetLatencyMs} ms`
          : `${r.repetitions} repetition(s) per row${r.contenders.some((c) => c.warmupRuns > 0) ? `, each row after unmeasured runs making ${formatInt(WARMUP_CALLS)} calls` : ''}`;
  const service =
    r.kind === 'flow' ? `; service ${r.service.baseMs} ms + ${r.service.perItemMs} ms/item, ${r.service.concurrency} calls at once, max delay ${r.service.maxBatchDelayMs} ms` : '';
  return (
    `Measured ${r.measuredAt.slice(0, 16).replace('T', ' ')} UTC with \`${r.command}\` (${runs}${service}); ` +
    `Node ${e.node}, ${e.cpus} cores, load average ${e.loadAverage.join(' / ')} at the end${r.quick ? '; QUICK smoke run, not a measurement' : ''}.`
  );
}
