import { keepChecksum, verifyChecksums } from './checksums.js';
import { sampleInChild } from './isolation.js';
import { collectGarbage, describeRun, measure, median, rotation, type CpuSample, type RunContext } from './measure.js';
import { contenderInfo, type Checksum, type Contender, type CpuContenderResult, type CpuScenarioResult, type RunStats, type ScenarioId, type Target } from './model.js';
import { evaluateTargets, figureOf } from './targets.js';

/** A scenario whose figure is CPU per record: S2, S3, S4, S5 (and the two halves of CK's overhead part). */
export interface CpuScenario {
  readonly kind: 'cpu';
  readonly id: ScenarioId;
  readonly title: string;
  readonly description: string;
  readonly records: { readonly full: number; readonly quick: number };
  /** The contender the ratios divide by (the hand-written loop). */
  readonly baseline: string;
  /** The contender the targets are about (Tributary). */
  readonly subject: string;
  /** What a record is, plural (`embeddings`), when records per second mean something to a reader. */
  readonly unit?: string;
  readonly contenders: readonly Contender<number, RunStats>[];
  readonly targets: readonly Target[];
}

/**
 * Full-size runs of a contender before each measured one, with no forced GC
 * between them and the measurement: what it takes on V8 (Node 20) for the
 * measured run to be a steady state, for every contender alike.
 *
 * Why full size and two: V8 optimizes a function once it has run enough, and
 * per-batch code runs once per batch. In S2 (batch 256) `--trace-opt` over
 * one 3,000,000-record job shows Tributary's per-batch functions optimized
 * only between 250,000 and 1,500,000 records in; the fifth of the records
 * this used to warm up with left that compiling inside the measurement. With
 * one full-size warm-up run the measured run still recompiled much of it (the
 * first run's end invalidates some optimized code); after two, its
 * compiler-thread time matched the hand-written loop's (S2: 7-23 against
 * 6-21 ns per record, from /proc per-thread CPU).
 *
 * Why no GC after the warm-up: a full GC collects the warm-up job's objects,
 * and V8 then discards optimized code that embedded them (`--trace-deopt`:
 * "weak objects"), so every contender compiled its hot code again while
 * measured. So the measured run also collects what its warm-up runs left,
 * as a long-running job collects what it made earlier.
 */
export const WARMUP_RUNS = 2;

/**
 * Calls of a batching contender's per-batch code before its measured run:
 * what S2's two warm-up runs give it (2 * 1,000,000 / 256 = 7,812, rounded
 * down). Two runs are enough only where a run makes thousands of calls. S5
 * makes 256 calls of 64 texts per run: after two runs, `--trace-opt` showed
 * the measured run still compiling Tributary's per-batch functions
 * (`dispatchReady`, `validateFeeds`, ...: 15-17 ms of compiler time, against
 * 1-2 ms for the hand-written loop), the same fault the two runs fixed in S2.
 */
export const WARMUP_CALLS = 7_800;

/**
 * Warm-up runs of a contender at `records` per run: {@link WARMUP_RUNS}, or
 * more for a contender that makes fewer than {@link WARMUP_CALLS} calls in
 * that many (see `Contender.recordsPerCall`). A quick run keeps two: it
 * checks that everything runs, not how fast.
 */
export function warmupRunsFor(contender: Pick<Contender<number, RunStats>, 'recordsPerCall'>, records: number, quick = false): number {
  const perCall = contender.recordsPerCall;
  if (perCall === undefined || quick) return WARMUP_RUNS;
  return Math.max(WARMUP_RUNS, Math.ceil((WARMUP_CALLS * perCall) / records));
}

/**
 * One sample of a contender: `warmupRuns` full-size runs, then the measured
 * one, with no GC in between (see {@link WARMUP_RUNS}). The same step in a
 * fresh process (`sampleChild`) and in process.
 */
export async function warmUpAndMeasure(contender: Contender<number, RunStats>, records: number, warmupRuns = WARMUP_RUNS): Promise<CpuSample<RunStats>> {
  for (let i = 0; i < warmupRuns; i++) await contender.run(records);
  return measure(() => contender.run(records));
}

export interface CpuRunOptions extends RunContext {
  readonly records: number;
  readonly repetitions: number;
  /** Measure each repetition of each contender in its own process (see `sampleInChild`); the CLI does. */
  readonly isolate: boolean;
}

/**
 * Runs every contender of a scenario: `repetitions` rounds in which each
 * runs once, in a rotated order, right after its own warm-up of
 * {@link warmupRunsFor} full-size runs (the JIT settles, and the measured run
 * collects the contender's own garbage). Isolated, every such sample is a fresh process;
 * in process, all of them run in this one.
 * Reports medians. Fails when two contenders disagree on the checksum: a
 * benchmark that does different work measures nothing.
 */
export async function runCpuScenario(scenario: CpuScenario, options: CpuRunOptions): Promise<CpuScenarioResult> {
  const { records, repetitions, log } = options;
  const contenders = scenario.contenders;
  const cpu = new Map<string, number[]>(contenders.map((c) => [c.id, []]));
  const wall = new Map<string, number[]>(contenders.map((c) => [c.id, []]));
  const stats = new Map<string, Record<string, number[]>>(contenders.map((c) => [c.id, {}]));
  const checksums = new Map<string, Checksum>();

  const where = options.isolate ? 'a process per run' : 'one process';
  const warmups = new Map(contenders.map((c) => [c.id, warmupRunsFor(c, records, options.quick)]));
  const warmupsShown = [...new Set(warmups.values())].sort((a, b) => a - b).join(' or ');
  log(`${scenario.id} ${scenario.title}: ${records.toLocaleString('en-US')} records, ${warmupsShown} warm-up runs, ${repetitions} repetitions, ${where}`);
  const measureOne = (c: Contender<number, RunStats>): Promise<CpuSample<RunStats>> => {
    const warmupRuns = warmups.get(c.id) ?? WARMUP_RUNS;
    return options.isolate ? sampleInChild({ scenario: scenario.id, contender: c.id, records, warmupRuns }) : warmUpAndMeasure(c, records, warmupRuns);
  };
  try {
    if (!options.isolate) {
      for (const c of contenders) await c.prepare?.(records);
      // What prepare() left behind is no contender's garbage.
      collectGarbage();
    }
    for (let rep = 0; rep < repetitions; rep++) {
      const line: string[] = [];
      for (const c of rotation(contenders, rep)) {
        const sample = await measureOne(c);
        cpu.get(c.id)?.push(sample.cpuNs / records);
        wall.get(c.id)?.push(sample.wallNs / records);
        const { stats: runStats, ...checksum } = sample.value;
        keepChecksum(checksums, scenario.id, c.id, { count: checksum.count, sum: checksum.sum });
        const kept = stats.get(c.id) as Record<string, number[]>;
        for (const [name, value] of Object.entries(runStats ?? {})) (kept[name] ??= []).push(value);
        const shown = Object.entries(runStats ?? {})
          .map(([name, value]) => `${name} ${value}`)
          .join(', ');
        line.push(`${c.id} ${(sample.cpuNs / records).toFixed(1)}${shown === '' ? '' : ` (${shown})`}`);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')} ns CPU/record`);
    }
  } finally {
    if (!options.isolate) for (const c of contenders) await c.teardown?.();
  }
  verifyChecksums(scenario.id, checksums, scenario.baseline);

  const results: CpuContenderResult[] = contenders.map((c) => {
    const cpuSamples = cpu.get(c.id) ?? [];
    const wallSamples = wall.get(c.id) ?? [];
    const checksum = checksums.get(c.id);
    const runStats = stats.get(c.id) ?? {};
    if (checksum === undefined || cpuSamples.length === 0) throw new Error(`${scenario.id}: ${c.id} was never measured`);
    return {
      ...contenderInfo(c),
      cpuNsPerRecord: median(cpuSamples),
      wallNsPerRecord: median(wallSamples),
      cpuSamples,
      wallSamples,
      checksum,
      warmupRuns: warmups.get(c.id) ?? WARMUP_RUNS,
      ...(Object.keys(runStats).length > 0 ? { stats: runStats } : {}),
    };
  });
  return {
    kind: 'cpu',
    ...describeRun(scenario, options),
    records,
    warmupRuns: Math.min(...warmups.values()),
    repetitions,
    isolated: options.isolate,
    baseline: scenario.baseline,
    subject: scenario.subject,
    ...(scenario.unit === undefined ? {} : { unit: scenario.unit }),
    contenders: results,
    targets: evaluateTargets(scenario.targets, (id) => figureOf(results, id, (c) => c.cpuNsPerRecord)),
  };
}
