import { AsyncDataStream, type CollectBatchOptions } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { FakeBatchService, SystemClock } from '@tributary/testing';
import { collectGarbage, describeRun, median, rotation, type RunContext } from '../harness/measure.js';
import type { Checksum, PhaseFigures, PhaseModel, PhasedContenderResult, PhasedScenarioResult, TargetResult } from '../harness/model.js';
import { EFFECT_NOTE, RXJS_NOTE, runEffect, runRxjs, type BatchPipeline } from './batchPipelines.js';

/**
 * S8 (issue 23): a service whose per-call overhead and per-item cost change
 * twice mid-run, unknown to the job. Phase 1 rewards the biggest batches,
 * phase 2 costs 1 ms a record so the latency target caps the batch, phase 3
 * sits between. Calls served at once: 4; latency target 250 ms.
 */
export const S8_PHASES: readonly PhaseModel[] = [
  { baseMs: 20, perItemMs: 0.05, records: 80_000 },
  { baseMs: 30, perItemMs: 1, records: 10_000 },
  { baseMs: 5, perItemMs: 0.2, records: 30_000 },
];
export const S8_CONCURRENCY = 4;
export const S8_TARGET_MS = 250;
const MAX_BATCH = 512;
const MAX_DELAY_MS = 50;
/** The batch options the getting-started guide shows (docs/async-batching.md). */
const DEFAULT_BATCH = 64;
const DEFAULT_DELAY_MS = 5;
/** Fixed sizes the oracle tries in each phase, with `MAX_DELAY_MS`. */
const SWEEP = [32, 64, 96, 128, 192, 256, 384, 512] as const;
/** The sweep runs each size over this share of a phase's records: enough to rank the sizes. */
const SWEEP_SHARE = 0.25;

/** Per phase: latencies and delivery span of one run. */
interface PhaseMeter {
  latencies: number[];
  /** Latencies of the records pulled once a call of the phase had returned: from then on a contender could know the service changed. */
  known: number[];
  /** When the service entered the phase (its first call), when that phase's first call returned, and when the last record it served there was delivered. */
  firstCall: number;
  firstReturn: number;
  last: number;
  calls: number;
  batched: number;
}

/**
 * One run's source, service and sink: records are their index; the source
 * stamps each pull, a call costs what the phase of its first record says,
 * and the sink measures each record's latency in the phase it was served in.
 */
export class PhasedRun {
  private readonly pulledAt: Float64Array;
  /** The phase of the service when each record's call was made. */
  private readonly servedIn: Uint8Array;
  /** First record index of each phase. */
  private readonly starts: number[] = [];
  private readonly services: FakeBatchService<number, number>[];
  private readonly meters: PhaseMeter[];
  private delivered = 0;
  private sum = 0;

  constructor(phases: readonly PhaseModel[]) {
    let start = 0;
    for (const phase of phases) {
      this.starts.push(start);
      start += phase.records;
    }
    this.pulledAt = new Float64Array(start);
    const clock = new SystemClock();
    this.services = phases.map(
      (p) =>
        new FakeBatchService<number, number>({
          clock,
          handler: (xs) => [...xs],
          latency: { baseMs: p.baseMs, perItemMs: p.perItemMs },
          concurrency: S8_CONCURRENCY,
          keepCallLog: false,
        }),
    );
    this.meters = phases.map(() => ({ latencies: [], known: [], firstCall: Number.NaN, firstReturn: Number.POSITIVE_INFINITY, last: Number.NaN, calls: 0, batched: 0 }));
    this.servedIn = new Uint8Array(start);
  }

  *source(): Generator<number> {
    for (let i = 0; i < this.pulledAt.length; i++) {
      this.pulledAt[i] = performance.now();
      yield i;
    }
  }

  readonly call = (batch: readonly number[], ctx?: { readonly signal?: AbortSignal }): Promise<number[]> => {
    // A call costs what the phase of its first record says: the records' cost drifts (longer texts, another model
    // behind the endpoint), so a contender that reads ahead (RxJS) meets the same costs as one that does not.
    const phase = this.phaseOf(batch[0] as number);
    const meter = this.meters[phase] as PhaseMeter;
    if (meter.calls++ === 0) meter.firstCall = performance.now();
    meter.batched += batch.length;
    for (const i of batch) this.servedIn[i] = phase;
    return (this.services[phase] as FakeBatchService<number, number>).call(batch, ctx).then((outputs) => {
      if (meter.firstReturn === Number.POSITIVE_INFINITY) meter.firstReturn = performance.now();
      return outputs;
    });
  };

  readonly deliver = (i: number): void => {
    const now = performance.now();
    const meter = this.meters[this.servedIn[i] as number] as PhaseMeter;
    const pulledAt = this.pulledAt[i] as number;
    meter.latencies.push(now - pulledAt);
    if (pulledAt >= meter.firstReturn) meter.known.push(now - pulledAt);
    meter.last = now;
    this.delivered++;
    this.sum += i;
  };

  readonly deliverAll = (outputs: readonly number[]): void => {
    for (const i of outputs) this.deliver(i);
  };

  checksum(): Checksum {
    return { count: this.delivered, sum: this.sum };
  }

  /** Every record once: count and sum of 0..n-1. */
  check(label: string): void {
    const n = this.pulledAt.length;
    if (this.delivered !== n || this.sum !== (n * (n - 1)) / 2) {
      throw new Error(`S8 ${label}: delivered ${this.delivered} records (sum ${this.sum}), expected ${n} (sum ${(n * (n - 1)) / 2})`);
    }
  }

  figures(): PhaseFigures[] {
    return this.meters.map((m) => {
      const sorted = Float64Array.from(m.latencies).sort();
      const at = (q: number): number => quantile(sorted, q);
      // A record belongs to the phase the service was in when its call was made: from that phase's first call to its last delivery.
      const span = m.last - m.firstCall;
      return {
        recordsPerSecond: span > 0 ? (m.latencies.length * 1000) / span : 0,
        p50Ms: at(0.5),
        p95Ms: at(0.95),
        p99Ms: at(0.99),
        p95KnownMs: quantile(Float64Array.from(m.known).sort(), 0.95),
        heldAtChange: m.latencies.length - m.known.length,
        meanBatch: m.calls === 0 ? 0 : m.batched / m.calls,
      };
    });
  }

  /** The phase of record `i`. */
  private phaseOf(i: number): number {
    let k = 0;
    while (k + 1 < this.starts.length && i >= (this.starts[k + 1] as number)) k++;
    return k;
  }

  pipeline(batchSize: number, maxBatchDelayMs: number): BatchPipeline<number, number> {
    return {
      source: () => this.source(),
      call: this.call,
      deliver: this.deliver,
      deliverAll: this.deliverAll,
      result: () => this.checksum(),
      batchSize,
      maxBatchDelayMs,
      concurrency: S8_CONCURRENCY,
    };
  }
}

/** The q-quantile (0..1) of ascending `sorted`, nearest rank; 0 when empty. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** One contender of S8: runs the phases once. */
interface PhasedContender {
  readonly id: string;
  readonly label: string;
  readonly note: string;
  run(phases: readonly PhaseModel[]): Promise<PhaseFigures[]>;
}

async function runTributary(phases: readonly PhaseModel[], options: CollectBatchOptions<number, number>, label: string): Promise<PhaseFigures[]> {
  const run = new PhasedRun(phases);
  const env = StreamExecutionEnvironment.create({ parallelism: 1 });
  AsyncDataStream.unorderedWaitBatch(env.fromCollection(run.source()), run.call, options).addSink(run.deliver);
  await env.execute(`S8 ${label}`);
  run.check(label);
  return run.figures();
}

async function runPeer(phases: readonly PhaseModel[], peer: (p: BatchPipeline<number, number>) => Promise<Checksum>, label: string): Promise<PhaseFigures[]> {
  const run = new PhasedRun(phases);
  await peer(run.pipeline(DEFAULT_BATCH, DEFAULT_DELAY_MS));
  run.check(label);
  return run.figures();
}

const ADAPTIVE_OPTIONS: CollectBatchOptions<number, number> = {
  maxBatchSize: MAX_BATCH,
  maxBatchDelay: MAX_DELAY_MS,
  maxInFlightBatches: S8_CONCURRENCY,
  adaptive: { targetLatency: S8_TARGET_MS },
};

const fixed = (size: number, delay: number): CollectBatchOptions<number, number> => ({ maxBatchSize: size, maxBatchDelay: delay, maxInFlightBatches: S8_CONCURRENCY });

const CONTENDERS: readonly PhasedContender[] = [
  {
    id: 'tributary-adaptive',
    label: 'Tributary adaptive',
    note: `\`unorderedWaitBatch(stream, call, { maxBatchSize: ${MAX_BATCH}, maxBatchDelay: ${MAX_DELAY_MS}, maxInFlightBatches: ${S8_CONCURRENCY}, adaptive: { targetLatency: ${S8_TARGET_MS} } })\`: one job through all phases`,
    run: (phases) => runTributary(phases, ADAPTIVE_OPTIONS, 'adaptive'),
  },
  {
    id: 'tributary',
    label: 'Tributary defaults',
    note: `\`unorderedWaitBatch(stream, call, { maxBatchSize: ${DEFAULT_BATCH}, maxBatchDelay: ${DEFAULT_DELAY_MS}, maxInFlightBatches: ${S8_CONCURRENCY} })\`, the getting-started options`,
    run: (phases) => runTributary(phases, fixed(DEFAULT_BATCH, DEFAULT_DELAY_MS), 'defaults'),
  },
  { id: 'rxjs', label: 'RxJS 7.8 defaults', note: `${RXJS_NOTE}, size ${DEFAULT_BATCH}, delay ${DEFAULT_DELAY_MS} ms`, run: (phases) => runPeer(phases, runRxjs, 'rxjs') },
  { id: 'effect', label: 'Effect 4.1 defaults', note: `${EFFECT_NOTE}, size ${DEFAULT_BATCH}, delay ${DEFAULT_DELAY_MS} ms`, run: (phases) => runPeer(phases, runEffect, 'effect') },
];

/** The S8 scenario; its runner is {@link runPhasedScenario}. */
export interface PhasedScenario {
  readonly kind: 'phased';
  readonly id: 'S8';
  readonly title: string;
  readonly description: string;
  readonly phases: readonly PhaseModel[];
}

export function adaptiveBatchingScenario(): PhasedScenario {
  const phases = S8_PHASES.map((p, k) => `phase ${k + 1}: ${p.baseMs} ms + ${p.perItemMs} ms per record over ${p.records.toLocaleString('en-US')} records`);
  return {
    kind: 'phased',
    id: 'S8',
    title: 'adaptive batching against a service whose costs change mid-run',
    description:
      `A FakeBatchService on the system clock serving ${S8_CONCURRENCY} calls at once changes its cost twice during one run, unknown to the job (${phases.join('; ')}): a call costs what the phase of its first record says, as when the records drift (longer texts, another model behind the endpoint). ` +
      `Every contender keeps at most ${S8_CONCURRENCY} calls in flight and reads the source as fast as it takes records. The latency target is ${S8_TARGET_MS} ms (p95, from a record's pull off the source to its delivery). ` +
      `The oracle is the best fixed batch size for each phase alone, found by a sweep over a quarter of that phase's records (${SWEEP.join(', ')}, delay ${MAX_DELAY_MS} ms; the most records/s with p95 within the target), its figures from runs of that whole phase alone: no single fixed setting reaches it in every phase. ` +
      'A record counts in the phase of the call that served it (the phase of that call\'s first record): a record of phase 1 delivered after phase 2 began counts in phase 1, with its whole latency. ' +
      'Throughput is a phase\'s records over the span from its first call to its last delivery, learning included; latency includes the records that waited behind batches sized for the phase before. ' +
      'The records a contender had pulled before the phase\'s first call returned were batched before anything showed the change; they are counted apart, and the p95 of the rest is shown beside the whole phase\'s.',
    phases: S8_PHASES,
  };
}

export interface PhasedRunOptions extends RunContext {
  readonly records: number | undefined;
  readonly repetitions: number;
}

/** The phases scaled to `total` records (or a tenth in a quick run), in the same proportions. */
function scaled(phases: readonly PhaseModel[], total: number | undefined, quick: boolean): PhaseModel[] {
  const all = phases.reduce((n, p) => n + p.records, 0);
  const factor = total !== undefined ? total / all : quick ? 0.1 : 1;
  return phases.map((p) => ({ ...p, records: Math.max(100, Math.round(p.records * factor)) }));
}

function medianFigures(runs: readonly PhaseFigures[][]): PhaseFigures[] {
  return (runs[0] ?? []).map((_, k) => {
    const of = (pick: (f: PhaseFigures) => number): number => median(runs.map((r) => pick(r[k] as PhaseFigures)));
    return {
      recordsPerSecond: of((f) => f.recordsPerSecond),
      p50Ms: of((f) => f.p50Ms),
      p95Ms: of((f) => f.p95Ms),
      p99Ms: of((f) => f.p99Ms),
      p95KnownMs: of((f) => f.p95KnownMs),
      heldAtChange: of((f) => f.heldAtChange),
      meanBatch: of((f) => f.meanBatch),
    };
  });
}

/**
 * Runs S8: the oracle's sweep (each phase alone, each size once), then
 * `repetitions` rounds of every contender in rotated order plus the
 * oracle's chosen size per phase; medians per phase.
 */
export async function runPhasedScenario(scenario: PhasedScenario, options: PhasedRunOptions): Promise<PhasedScenarioResult> {
  const phases = scaled(scenario.phases, options.records, options.quick);
  const best: number[] = [];
  for (const [k, phase] of phases.entries()) {
    let chosen = { size: SWEEP[0] as number, rate: -1 };
    for (const size of SWEEP) {
      collectGarbage();
      const slice = { ...phase, records: Math.max(100, Math.round(phase.records * SWEEP_SHARE)) };
      const [f] = await runTributary([slice], fixed(size, MAX_DELAY_MS), `sweep phase ${k + 1} size ${size}`);
      options.log(`S8 sweep: phase ${k + 1}, size ${size}: ${Math.round(f!.recordsPerSecond)} records/s, p95 ${f!.p95Ms.toFixed(1)} ms`);
      if (f!.p95Ms <= S8_TARGET_MS && f!.recordsPerSecond > chosen.rate) chosen = { size, rate: f!.recordsPerSecond };
    }
    best.push(chosen.size);
  }
  const oracle: PhasedContender = {
    id: 'oracle',
    label: 'oracle (best fixed per phase)',
    note: `the sweep's best fixed \`maxBatchSize\` for each phase alone (${best.map((b, k) => `phase ${k + 1}: ${b}`).join(', ')}; delay ${MAX_DELAY_MS} ms), each phase run alone`,
    run: async () => {
      const out: PhaseFigures[] = [];
      for (const [k, phase] of phases.entries()) out.push(...(await runTributary([phase], fixed(best[k] as number, MAX_DELAY_MS), `oracle phase ${k + 1}`)));
      return out;
    },
  };
  const contenders = [oracle, ...CONTENDERS];
  const runs = new Map<string, PhaseFigures[][]>(contenders.map((c) => [c.id, []]));
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const c of rotation(contenders, rep)) {
      collectGarbage();
      const figures = await c.run(phases);
      runs.get(c.id)?.push(figures);
      options.log(`S8 ${c.label}: ${figures.map((f, k) => `phase ${k + 1} ${Math.round(f.recordsPerSecond)}/s p95 ${f.p95Ms.toFixed(0)} ms (${f.heldAtChange} pulled before a call returned; the rest ${f.p95KnownMs.toFixed(0)} ms)`).join(', ')}`);
    }
  }
  const results: PhasedContenderResult[] = contenders.map((c) => ({ id: c.id, label: c.label, note: c.note, extra: false, phases: medianFigures(runs.get(c.id) ?? []), runs: runs.get(c.id) ?? [] }));
  return {
    kind: 'phased',
    ...describeRun(scenario, options),
    phases,
    concurrency: S8_CONCURRENCY,
    targetLatencyMs: S8_TARGET_MS,
    repetitions: options.repetitions,
    contenders: results,
    targets: targetsOf(results),
  };
}

/** Adaptive within 10% of the oracle's throughput, and its p95 within the target, in every phase. */
function targetsOf(results: readonly PhasedContenderResult[]): TargetResult[] {
  const adaptive = results.find((c) => c.id === 'tributary-adaptive');
  const oracle = results.find((c) => c.id === 'oracle');
  if (adaptive === undefined || oracle === undefined) return [];
  return adaptive.phases.flatMap((f, k): TargetResult[] => {
    const ratio = f.recordsPerSecond / ((oracle.phases[k] as PhaseFigures).recordsPerSecond || 1);
    return [
      { label: `phase ${k + 1}: adaptive at least 0.9x the oracle's records/s`, measure: 'ratio', value: ratio, bound: 'at-least', threshold: 0.9, met: ratio >= 0.9 },
      { label: `phase ${k + 1}: adaptive p95 within ${S8_TARGET_MS} ms`, measure: 'figure', value: f.p95Ms, bound: 'at-most', threshold: S8_TARGET_MS, met: f.p95Ms <= S8_TARGET_MS },
    ];
  });
}
