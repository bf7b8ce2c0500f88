import { describe, expect, it } from 'vitest';
import { runFlowPoint, type FlowScenario } from '../src/harness/flowRunner.js';
import { keepChecksum, verifyChecksums } from '../src/harness/checksums.js';
import { runCpuScenario, type CpuScenario } from '../src/harness/cpuRunner.js';
import { MEASURED_RUNS, WARMUP_CALLS, WARMUP_RUNS, warmupRunsFor } from '../src/harness/sampling.js';
import { S2_BATCH } from '../src/scenarios/batchOverhead.js';
import { mergeResults, RESULTS_SCHEMA } from '../src/harness/results.js';
import { evaluateTargets } from '../src/harness/targets.js';
import { parseOptions } from '../src/options.js';
import { renderMarkdownTable } from '../src/report/markdown.js';
import { cpuTable, tableOf, targetTable } from '../src/report/tables.js';
import { buildScenarios, runScenario } from '../src/scenarios/index.js';
import { expectedS3, expectedS4 } from './support/expected.js';

// Correctness of the benchmark, not timing: with tiny inputs every contender of
// every scenario must do exactly the work its scenario describes. The expected
// figures are computed from the scenario descriptions (test/support/expected.ts),
// independently of the contenders. CK and S5 have their own files.

const scenarios = buildScenarios();

/** S2: one output x + 1 per record 0..n-1. */
const expectedS2 = (n: number) => ({ count: n, sum: (n * (n - 1)) / 2 + n });

const cpuCases: [CpuScenario, number, (n: number) => { count: number; sum: number }][] = [
  [scenarios.S3 as CpuScenario, 10_500, expectedS3],
  [scenarios.S4 as CpuScenario, 12_345, expectedS4],
  [scenarios.S2 as CpuScenario, 1_000, expectedS2],
];

describe.each(cpuCases)('$id', (scenario, n, expected) => {
  it.each(scenario.contenders.map((c) => [c.id, c] as const))('%s produces the expected count and sum', async (_id, contender) => {
    await contender.prepare?.(n);
    try {
      await expect(contender.run(n)).resolves.toEqual(expected(n));
    } finally {
      await contender.teardown?.();
    }
  });

  it('has the hand-written loop baseline and the Tributary row its targets name', () => {
    const ids = scenario.contenders.map((c) => c.id);
    expect(ids).toContain(scenario.baseline);
    expect(ids).toContain(scenario.subject);
    for (const t of scenario.targets) expect(ids).toContain(t.subject);
  });
});

const flowCases: [FlowScenario, number][] = [
  [scenarios.S1 as FlowScenario, 150],
  [scenarios['S1-sweep'] as FlowScenario, 40],
  [scenarios['S1-memory'] as FlowScenario, 600],
];

describe.each(flowCases)('$id', (scenario, n) => {
  // Each configuration once; the per-record rows with few records, they make one 10 ms call per record.
  const points = scenario
    .points(n, true)
    .map((p) => ({ ...p, records: p.contender.id === 'tributary-per-record' ? Math.min(p.records, 8) : p.records }));

  it.each(points.map((p) => [`${p.contender.id} b=${p.batchSize}`, p] as const))(
    '%s delivers one output per document, and never sends a batch above the size',
    async (_name, point) => {
      const stats = await runFlowPoint(point, scenario.service);
      expect({ count: stats.count, sum: stats.sum }).toEqual({ count: point.records, sum: (point.records * (point.records - 1)) / 2 });
      expect(stats.calls).toBeGreaterThanOrEqual(Math.ceil(point.records / point.batchSize));
      expect(stats.meanBatchSize).toBeLessThanOrEqual(point.batchSize);
    },
  );
});

describe('runner and report', () => {
  it('runs a scenario end to end in quick mode: every contender measured, checksums checked, targets judged, tables rendered', async () => {
    const result = await runScenario(scenarios.S3, parseOptions(['--quick', '--in-process', '--records', '3000']), 'test', () => undefined);
    if (result.kind !== 'cpu') throw new Error('S3 is a CPU scenario');
    expect(result.records).toBe(3000);
    expect(result.contenders.map((c) => c.checksum)).toEqual(result.contenders.map(() => expectedS3(3000)));
    for (const c of result.contenders) expect(c.cpuNsPerRecord).toBeGreaterThan(0);
    expect(result.targets.map((t) => t.label)).toEqual((scenarios.S3 as CpuScenario).targets.map((t) => t.label));
    const markdown = renderMarkdownTable(tableOf(result));
    for (const c of result.contenders) expect(markdown).toContain(c.label);
  });

  it('warms per-batch code up for as many calls as S2\'s two runs give it, in whole runs, never fewer than the minimum', () => {
    const s2 = scenarios.S2 as CpuScenario;
    expect(WARMUP_CALLS).toBeLessThanOrEqual((WARMUP_RUNS * s2.records.full) / S2_BATCH);
    expect(warmupRunsFor(1_000, undefined, false)).toBe(WARMUP_RUNS);
    expect(warmupRunsFor(1_000_000, 256, false)).toBe(2); // S2: 3,906 calls per run
    expect(warmupRunsFor(16_384, 64, false)).toBe(31); // S5: 256 calls per run, 7,936 in 31 runs
    expect(warmupRunsFor(16_384, 64, true)).toBe(WARMUP_RUNS); // a quick run checks that it runs, not how fast
    expect(warmupRunsFor(16_384, 1, false)).toBe(2);
    expect(warmupRunsFor(20_000, 64, false)).toBe(25); // S1: 313 calls per run
    const s5 = scenarios.S5 as CpuScenario;
    const runs = Object.fromEntries(s5.contenders.map((c) => [c.id, warmupRunsFor(s5.records.full, c.recordsPerCall, false)]));
    expect(runs).toMatchObject({ 'hand-loop': 31, tributary: 31, 'tributary-per-record': 2, 'hand-loop-per-record': 2 });
  });

  /** A scenario of one contender that counts its runs; `wrongRun` (1-based) returns a different checksum. */
  const countingScenario = (wrongRun?: number) => {
    let runs = 0;
    const scenario: CpuScenario = {
      kind: 'cpu',
      id: 'S3',
      title: 'counting',
      description: '',
      records: { full: 10, quick: 10 },
      baseline: 'counter',
      subject: 'counter',
      contenders: [
        {
          id: 'counter',
          label: 'counter',
          note: '',
          run: (n) => {
            runs++;
            return Promise.resolve({ count: n, sum: runs === wrongRun ? 1 : 0, stats: { run: runs } });
          },
        },
      ],
      targets: [],
    };
    return { scenario, runs: () => runs };
  };
  const context = { records: 10, repetitions: 3, isolate: false, command: 'test', quick: false, note: undefined, log: () => undefined };

  it('takes each sample as the warm-up runs, then the measured runs; judges the best sample, keeps the stats of every measured run', async () => {
    const { scenario, runs } = countingScenario();
    const result = await runCpuScenario(scenario, context);
    expect(runs()).toBe(3 * (WARMUP_RUNS + MEASURED_RUNS));
    expect(result.measuredRuns).toBe(MEASURED_RUNS);
    const [counter] = result.contenders;
    expect(counter?.cpuSamples).toHaveLength(3);
    expect(counter?.cpuNsPerRecord).toBe(Math.min(...(counter?.cpuSamples ?? [])));
    // Runs 1-2 of each sample warm up; the stats are those of runs 3-7, 10-14 and 17-21.
    const measured = [0, 1, 2].flatMap((rep) => Array.from({ length: MEASURED_RUNS }, (_, i) => rep * (WARMUP_RUNS + MEASURED_RUNS) + WARMUP_RUNS + i + 1));
    expect(counter?.stats?.['run']).toEqual(measured);
  });

  it('checks the checksum of every measured run, not only the first of a sample', async () => {
    const { scenario } = countingScenario(WARMUP_RUNS + MEASURED_RUNS);
    await expect(runCpuScenario(scenario, context)).rejects.toThrow('S3: counter, against its earlier runs: count 10 sum 1, expected count 10 sum 0');
  });

  it('shows each CPU row as its best sample, the median and the worst of its samples', async () => {
    const result = await runScenario(scenarios.S3, parseOptions(['--quick', '--in-process', '--records', '300']), 'test', () => undefined);
    if (result.kind !== 'cpu') throw new Error('S3 is a CPU scenario');
    const samples = { cpuNsPerRecord: 11, cpuSamples: [30, 11, 20] };
    const table = cpuTable({ ...result, contenders: result.contenders.map((c) => ({ ...c, ...samples })) });
    expect(table.headers).toContain('ns CPU/record (median)');
    const row = table.rows[0] as string[];
    expect([row[1], row.at(-2), row.at(-1)]).toEqual(['11.0', '20.0', '30.0']);
  });

  it('merges a run of some scenarios into the stored results, keeping the others', async () => {
    const s3 = await runScenario(scenarios.S3, parseOptions(['--quick', '--in-process', '--records', '300']), 'old', () => undefined);
    const s4 = await runScenario(scenarios.S4, parseOptions(['--quick', '--in-process', '--records', '300']), 'old', () => undefined);
    const fresh = await runScenario(scenarios.S3, parseOptions(['--quick', '--in-process', '--records', '600']), 'new', () => undefined);
    const merged = mergeResults({ schema: RESULTS_SCHEMA, scenarios: { S3: s3, S4: s4 } }, [fresh]);
    expect(merged.scenarios.S4).toBe(s4);
    expect(merged.scenarios.S3).toBe(fresh);
  });

  it('refuses results where a contender did different work', () => {
    const checksums = new Map([
      ['hand-loop', { count: 3, sum: 6 }],
      ['tributary', { count: 3, sum: 7 }],
    ]);
    expect(() => verifyChecksums('S3', checksums, 'hand-loop')).toThrow(/tributary count 3 sum 7/);
  });

  it('refuses results where a run of a contender did different work from an earlier one', () => {
    const checksums = new Map<string, { count: number; sum: number }>();
    keepChecksum(checksums, 'S3', 'tributary', { count: 3, sum: 6 });
    keepChecksum(checksums, 'S3', 'tributary', { count: 3, sum: 6 });
    expect(() => keepChecksum(checksums, 'S3', 'tributary', { count: 2, sum: 6 })).toThrow(
      'S3: tributary, against its earlier runs: count 2 sum 6, expected count 3 sum 6',
    );
  });

  it('rounds target figures towards failing, so a miss never prints as the threshold', () => {
    const [speedup, ratio] = evaluateTargets(
      [
        { kind: 'min-speedup', label: 'at least 3x', subject: 'a', baseline: 'b', min: 3 },
        { kind: 'max-ratio', label: 'at most 2x', subject: 'a', baseline: 'b', max: 2 },
      ],
      (id) => (id === 'a' ? 1 : 2.9961),
    );
    expect(speedup?.met).toBe(false);
    expect(renderMarkdownTable(targetTable([speedup!, ratio!], 'cpu'))).toContain('| at least 3x | 2.99x | NO |');
  });

  it("prints a target on the subject's own figure in the scenario's unit, ratios as ratios", () => {
    const targets = evaluateTargets(
      [
        { kind: 'max-value', label: 'own figure', subject: 'a', max: 120 },
        { kind: 'max-ratio', label: 'ratio', subject: 'a', baseline: 'b', max: 2 },
      ],
      (id) => (id === 'a' ? 150 : 100),
    );
    expect(renderMarkdownTable(targetTable(targets, 'cpu'))).toMatch(/\| own figure \| 150 ns \| NO \|[\s\S]*\| ratio \| 1.50x \| yes \|/);
    expect(renderMarkdownTable(targetTable(targets, 'flow'))).toContain('| own figure | 150.0% | NO |');
  });
});
