import { keepChecksum, verifyChecksums } from './checksums.js';
import { sampleInChild } from './isolation.js';
import { MEASURED_RUNS, warmupRunsFor } from './sampling.js';
import { bestSample, collectGarbage, describeRun, measure, median, rotation, type CpuSample, type RunContext } from './measure.js';
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
  /** What the ratio targets compare: CPU per record (default), or wall time per record for a throughput target (S5b). */
  readonly targetFigure?: 'cpu' | 'wall';
}

/**
 * One sample of a contender: `warmupRuns` full-size runs, then
 * `measuredRuns` measured ones, with no GC in between (see `sampling.ts`).
 * The same step in a fresh process (`sampleChild`) and in process.
 */
export async function warmUpAndMeasure(
  contender: Contender<number, RunStats>,
  records: number,
  warmupRuns: number,
  measuredRuns: number,
): Promise<CpuSample<RunStats>[]> {
  for (let i = 0; i < warmupRuns; i++) await contender.run(records);
  const runs: CpuSample<RunStats>[] = [];
  for (let i = 0; i < measuredRuns; i++) runs.push(await measure(() => contender.run(records)));
  return runs;
}

export interface CpuRunOptions extends RunContext {
  readonly records: number;
  readonly repetitions: number;
  /** Take each sample of each contender in its own process (see `sampleInChild`); the CLI does. */
  readonly isolate: boolean;
}

/**
 * Runs every contender of a scenario: `repetitions` rounds in which each
 * gives one sample, in a rotated order: its own warm-up of `warmupRunsFor`
 * full-size runs (the JIT settles, and the measured runs collect the
 * contender's own garbage), then {@link MEASURED_RUNS} measured runs whose
 * median is the sample's figure. Isolated, every sample is a fresh
 * process; in process, all of them run in this one.
 * Reports each contender's best sample and the median of its samples.
 * Fails when two runs disagree on the checksum: a benchmark that does
 * different work measures nothing.
 */
export async function runCpuScenario(scenario: CpuScenario, options: CpuRunOptions): Promise<CpuScenarioResult> {
  const { records, repetitions, log } = options;
  const contenders = scenario.contenders;
  const cpu = new Map<string, number[]>(contenders.map((c) => [c.id, []]));
  const wall = new Map<string, number[]>(contenders.map((c) => [c.id, []]));
  const stats = new Map<string, Record<string, number[]>>(contenders.map((c) => [c.id, {}]));
  const checksums = new Map<string, Checksum>();

  const where = options.isolate ? 'a process per sample' : 'one process';
  const warmups = new Map(contenders.map((c) => [c, warmupRunsFor(records, c.recordsPerCall, options.quick)]));
  const warmupsOf = (c: Contender<number, RunStats>): number => warmups.get(c) as number;
  const shown = [...new Set(warmups.values())].sort((a, b) => a - b).join(' or ');
  log(
    `${scenario.id} ${scenario.title}: ${records.toLocaleString('en-US')} records, ${repetitions} samples of ${shown} warm-up runs ` +
      `and ${MEASURED_RUNS} measured runs, ${where}`,
  );
  const measureOne = (c: Contender<number, RunStats>): Promise<CpuSample<RunStats>[]> =>
    options.isolate
      ? sampleInChild({ scenario: scenario.id, contender: c.id, records, warmupRuns: warmupsOf(c), measuredRuns: MEASURED_RUNS })
      : warmUpAndMeasure(c, records, warmupsOf(c), MEASURED_RUNS);
  try {
    if (!options.isolate) {
      for (const c of contenders) await c.prepare?.(records);
      // What prepare() left behind is no contender's garbage.
      collectGarbage();
    }
    for (let rep = 0; rep < repetitions; rep++) {
      const line: string[] = [];
      for (const c of rotation(contenders, rep)) {
        const runs = await measureOne(c);
        const runCpu = runs.map((r) => r.cpuNs / records);
        const sampleCpu = median(runCpu);
        cpu.get(c.id)?.push(sampleCpu);
        wall.get(c.id)?.push(median(runs.map((r) => r.wallNs / records)));
        const kept = stats.get(c.id) as Record<string, number[]>;
        for (const run of runs) {
          const { stats: runStats, ...checksum } = run.value;
          keepChecksum(checksums, scenario.id, c.id, { count: checksum.count, sum: checksum.sum });
          for (const [name, value] of Object.entries(runStats ?? {})) (kept[name] ??= []).push(value);
        }
        const statsShown = Object.keys(runs[0]?.value.stats ?? {})
          .map((name) => `${name} ${runs.map((r) => r.value.stats?.[name]).join('/')}`)
          .join(', ');
        const spread = `${Math.min(...runCpu).toFixed(1)}-${Math.max(...runCpu).toFixed(1)}`;
        line.push(`${c.id} ${sampleCpu.toFixed(1)} (${spread}${statsShown === '' ? '' : `; ${statsShown}`})`);
      }
      log(`  rep ${rep + 1}: ${line.join(', ')} ns CPU/record, median (range) of the runs`);
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
      cpuNsPerRecord: bestSample(cpuSamples),
      wallNsPerRecord: bestSample(wallSamples),
      cpuSamples,
      wallSamples,
      checksum,
      warmupRuns: warmupsOf(c),
      ...(Object.keys(runStats).length > 0 ? { stats: runStats } : {}),
    };
  });
  return {
    kind: 'cpu',
    ...describeRun(scenario, options),
    records,
    repetitions,
    measuredRuns: MEASURED_RUNS,
    isolated: options.isolate,
    baseline: scenario.baseline,
    subject: scenario.subject,
    ...(scenario.unit === undefined ? {} : { unit: scenario.unit }),
    contenders: results,
    targets: evaluateTargets(
      scenario.targets,
      (id) => figureOf(results, id, (c) => (scenario.targetFigure === 'wall' ? c.wallNsPerRecord : c.cpuNsPerRecord)),
      (id, name) => median(results.find((c) => c.id === id)?.stats?.[name] ?? []),
    ),
  };
}
