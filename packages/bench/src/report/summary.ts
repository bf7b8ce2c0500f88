import type { CheckpointScenarioResult, CpuContenderResult, FlowContenderResult, ResultsFile, ScenarioResult, ServiceModel } from '../harness/model.js';
import { S5_BATCH } from '../scenarios/onnxEmbedding.js';
import { formatInt, formatMb, formatMs, formatNs, formatPercent, formatRatio } from './tables.js';
import type { TemplateValues } from './template.js';

/**
 * The headline figures of the page's summary, `short.*` in the template: one
 * line per scenario, each kept only when its scenario and the rows it quotes
 * are in the results.
 */
export function summaryValues(results: ResultsFile): TemplateValues {
  const { S1, S2, S3, S4, S5, CK } = results.scenarios;
  const memory = results.scenarios['S1-memory'];
  const all = Object.values(results.scenarios);
  return {
    ...line('short.S3', cpuRows(S3, { t: 'tributary', loop: 'hand-loop', rxjs: 'rxjs', streams: 'node-streams' }), ({ t, loop, rxjs, streams }) => ({
      tributary: formatNs(t.cpuNsPerRecord),
      loop: formatNs(loop.cpuNsPerRecord),
      vsLoop: formatRatio(t.cpuNsPerRecord / loop.cpuNsPerRecord),
      rxjs: formatRatio(rxjs.cpuNsPerRecord / t.cpuNsPerRecord),
      streams: formatRatio(streams.cpuNsPerRecord / t.cpuNsPerRecord),
    })),
    ...line('short.S4', cpuRows(S4, { t: 'tributary', loop: 'hand-loop', rxjs: 'rxjs' }), ({ t, loop, rxjs }) => ({
      tributary: formatNs(t.cpuNsPerRecord),
      vsLoop: formatRatio(t.cpuNsPerRecord / loop.cpuNsPerRecord),
      rxjs: formatRatio(rxjs.cpuNsPerRecord / t.cpuNsPerRecord),
    })),
    ...line('short.S2', cpuRows(S2, { t: 'tributary', loop: 'hand-loop', rxjs: 'rxjs', effect: 'effect' }), ({ t, loop, rxjs, effect }) => ({
      tributary: formatNs(t.cpuNsPerRecord),
      vsLoop: formatRatio(t.cpuNsPerRecord / loop.cpuNsPerRecord),
      rxjs: formatRatio(rxjs.cpuNsPerRecord / t.cpuNsPerRecord),
      effect: formatRatio(effect.cpuNsPerRecord / t.cpuNsPerRecord),
    })),
    ...line('short.S1', flowRows(S1, { batched: 'tributary', perRecord: 'tributary-per-record' }), ({ batched, perRecord, service }) => ({
      baseMs: String(service.baseMs),
      perItemMs: String(service.perItemMs),
      concurrency: String(service.concurrency),
      batch: String(batched.batchSize),
      rate: formatInt(batched.recordsPerSecond),
      bound: formatPercent(batched.percentOfBound),
      perRecordRate: formatInt(perRecord.recordsPerSecond),
      gain: formatRatio(batched.recordsPerSecond / perRecord.recordsPerSecond),
    })),
    ...line('short.S5', cpuRows(S5, { t: 'tributary', perRecord: 'tributary-per-record', loop: 'hand-loop' }), ({ t, perRecord, loop }) => ({
      batch: String(S5_BATCH),
      gain: formatRatio(perRecord.wallNsPerRecord / t.wallNsPerRecord),
      vsLoop: formatRatio(t.cpuNsPerRecord / loop.cpuNsPerRecord),
    })),
    ...line('short.S5inThread', cpuRows(S5, { t: 'tributary-in-thread', loop: 'hand-loop' }), ({ t, loop }) => ({
      vsLoop: formatRatio(t.cpuNsPerRecord / loop.cpuNsPerRecord),
    })),
    ...line('short.memory', flowRows(memory, { t: 'tributary', rxjs: 'rxjs' }), ({ t, rxjs }) => ({
      records: formatInt(t.records),
      inFlight: formatInt(peak(t, (s) => s.peakInFlight)),
      heap: formatMb(peak(t, (s) => s.peakLiveHeapDeltaBytes ?? s.peakHeapDeltaBytes)),
      rxjsInFlight: formatInt(peak(rxjs, (s) => s.peakInFlight)),
      rxjsHeap: formatMb(peak(rxjs, (s) => s.peakLiveHeapDeltaBytes ?? s.peakHeapDeltaBytes)),
    })),
    ...line('short.CK', CK?.kind === 'checkpoint' ? checkpointRows(CK) : undefined, ({ r, job, parts }) => ({
      durationMs: formatMs(job.durationMs),
      keys: formatInt(r.keys),
      size: job.sizeBytes === undefined ? '-' : (job.sizeBytes / 2 ** 20).toFixed(2),
      intervalMs: String(r.intervalMs),
      overhead: parts.map((p) => `${formatRatio(p.ratio)} (${p.name})`).join(' and '),
    })),
    ...line('short.machine', newest(all), (r) => ({ text: `Node ${r.environment.node} on ${r.environment.cpus} cores (${r.environment.cpuModel})` })),
  };
}

/** `name` true with `name.key` for each figure when the rows are there, else `name` false (the template drops the line). */
function line<T>(name: string, rows: T | undefined, figures: (rows: T) => Record<string, string>): TemplateValues {
  if (rows === undefined) return { [name]: false };
  return { [name]: true, ...Object.fromEntries(Object.entries(figures(rows)).map(([key, value]) => [`${name}.${key}`, value])) };
}

function cpuRows<K extends string>(r: ScenarioResult | undefined, ids: Record<K, string>): Record<K, CpuContenderResult> | undefined {
  return r?.kind === 'cpu' ? rowsOf(r.contenders, ids) : undefined;
}

/** The rows at the scenario's main batch size (the first row's), and its service. */
function flowRows<K extends string>(
  r: ScenarioResult | undefined,
  ids: Record<K, string>,
): (Record<K, FlowContenderResult> & { readonly service: ServiceModel }) | undefined {
  if (r?.kind !== 'flow') return undefined;
  const batch = r.contenders[0]?.batchSize;
  const rows = rowsOf(r.contenders.filter((c) => c.batchSize === batch), ids);
  return rows === undefined ? undefined : { ...rows, service: r.service };
}

/** The contender of each id, or undefined when one is missing. */
function rowsOf<K extends string, C extends { readonly id: string }>(contenders: readonly C[], ids: Record<K, string>): Record<K, C> | undefined {
  const found = Object.entries<string>(ids).map(([key, id]) => [key, contenders.find((c) => c.id === id)] as const);
  return found.every(([, c]) => c !== undefined) ? (Object.fromEntries(found) as Record<K, C>) : undefined;
}

/** The job's own checkpoint, and each overhead part's CPU with checkpointing over without (named by its title's first word, S3 or S4). */
function checkpointRows(r: CheckpointScenarioResult) {
  const job = r.probes.find((p) => p.id === 'tributary');
  const parts = allFound(
    r.overhead.map((part) => {
      const without = part.contenders.find((c) => c.id === part.baseline);
      const withCk = part.contenders.find((c) => c.id === part.subject);
      return without === undefined || withCk === undefined ? undefined : { name: part.title.split(' ')[0] ?? part.title, ratio: withCk.cpuNsPerRecord / without.cpuNsPerRecord };
    }),
  );
  return job === undefined || parts === undefined || parts.length === 0 ? undefined : { r, job, parts };
}

function peak(c: FlowContenderResult, of: (sample: FlowContenderResult['samples'][number]) => number): number {
  return Math.max(...c.samples.map(of));
}

function newest(all: readonly (ScenarioResult | undefined)[]): ScenarioResult | undefined {
  return all.filter((r): r is ScenarioResult => r !== undefined).sort((a, b) => (a.measuredAt < b.measuredAt ? 1 : -1))[0];
}

function allFound<T>(rows: readonly (T | undefined)[]): T[] | undefined {
  return rows.every((row) => row !== undefined) ? (rows as T[]) : undefined;
}
