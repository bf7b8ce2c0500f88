import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckpointScenario } from '../src/harness/checkpointRunner.js';
import type { CpuScenarioResult } from '../src/harness/model.js';
import { TempDirs } from '../src/harness/tempDirs.js';
import { TriggerClock } from '../src/harness/triggerClock.js';
import { parseOptions } from '../src/options.js';
import { renderConsoleTable } from '../src/report/console.js';
import { writeDocs } from '../src/report/docs.js';
import { overheadSummary } from '../src/report/tables.js';
import { runScenario } from '../src/scenarios/index.js';
import { checkpointScenario } from '../src/scenarios/checkpointCost.js';
import { expectedS3, expectedS4 } from './support/expected.js';
import { RESULTS_SCHEMA } from '../src/harness/results.js';

// CK with tiny sizes: every probe's checkpoint must hold every key with its
// value, and the S3/S4 jobs must do the same work with checkpointing on.
// No figure here depends on timing.

/** Key i holds i: k keys, values summing to k(k-1)/2. */
const expectedState = (keys: number) => ({ count: keys, sum: (keys * (keys - 1)) / 2 });

describe('CK checkpoint probes', () => {
  it.each(checkpointScenario().probes.map((p) => [p.id, p] as const))('%s reads back a snapshot with every key and value', async (_id, probe) => {
    const keys = 2_345;
    await probe.prepare?.(keys);
    try {
      const run = await probe.run(keys);
      expect({ count: run.count, sum: run.sum }).toEqual(expectedState(keys));
      expect(Number.isFinite(run.durationMs)).toBe(true);
      // Every key costs at least its name and its value in a stored or serialized checkpoint.
      if (run.sizeBytes !== undefined) expect(run.sizeBytes).toBeGreaterThan(keys * 'user-0'.length);
    } finally {
      await probe.teardown?.();
    }
  });

  it('the job probe is repeatable: the same state and stored size every run (each run checks its file against checkpointSizeBytes)', async () => {
    const [job] = checkpointScenario().probes;
    await job!.prepare?.(100);
    try {
      const first = await job!.run(100);
      const second = await job!.run(100);
      expect(second.sizeBytes).toBe(first.sizeBytes);
      expect({ count: second.count, sum: second.sum }).toEqual(expectedState(100));
    } finally {
      await job!.teardown?.();
    }
  });
});

describe('CK overhead: S3 and S4 without and with checkpointing', () => {
  const parts = checkpointScenario().overhead;
  const cases = parts.flatMap((part, i) =>
    part.contenders.map((c) => [`${i === 0 ? 'S3' : 'S4'} ${c.id}`, c, i === 0 ? expectedS3 : expectedS4] as const),
  );

  it.each(cases)('%s produces the pipeline\'s count and sum and reports its periodic checkpoints', async (_name, contender, expected) => {
    const n = 9_876;
    await contender.prepare?.(n);
    try {
      const { stats, ...checksum } = await contender.run(n);
      expect(checksum).toEqual(expected(n));
      expect(stats?.['periodicCheckpoints']).toBeGreaterThanOrEqual(0);
      // Without checkpointing nothing is periodic: the only checkpoint counted is the final one, subtracted.
      if (contender.id === 'tributary') expect(stats?.['periodicCheckpoints']).toBe(0);
    } finally {
      await contender.teardown?.();
    }
  });

  it('compares each pipeline with itself: baseline without, subject with checkpointing', () => {
    expect(parts.map((p) => [p.baseline, p.subject])).toEqual([
      ['tributary', 'tributary-checkpointing'],
      ['tributary', 'tributary-checkpointing'],
    ]);
  });
});

describe('CK end to end', () => {
  it('runs in quick mode: probes and overhead measured, checksums checked, tables rendered', async () => {
    const scenario: CheckpointScenario = { ...checkpointScenario(), keys: { full: 1_500, quick: 1_500 } };
    const result = await runScenario(scenario, parseOptions(['--quick', '--in-process', '--records', '2000']), 'test', () => undefined);
    if (result.kind !== 'checkpoint') throw new Error('CK is a checkpoint scenario');
    expect(result.probes.map((p) => p.checksum)).toEqual(result.probes.map(() => expectedState(1_500)));
    expect(result.overhead.map((p) => p.contenders.map((c) => c.checksum))).toEqual([
      [expectedS3(2000), expectedS3(2000)],
      [expectedS4(2000), expectedS4(2000)],
    ]);
    const text = renderConsoleTable(result);
    for (const p of result.probes) expect(text).toContain(p.label);
    for (const c of result.overhead.flatMap((p) => p.contenders)) expect(text).toContain(c.label);

    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-docs-'));
    try {
      const paths = { docs: join(dir, 'benchmarks.md'), charts: join(dir, 'benchmarks') };
      writeDocs({ schema: RESULTS_SCHEMA, scenarios: { CK: result } }, paths);
      const docs = readFileSync(paths.docs, 'utf8');
      expect(docs).toContain('## CK: checkpoint time and size');
      expect(docs).toContain('### Checkpointing every 100 ms on S3 and S4');
      expect(docs).toContain('no target to meet here');
      expect(docs).not.toContain('undefined');
      for (const chart of ['ck-checkpoint-ms.svg', 'ck-overhead.svg']) expect(existsSync(join(paths.charts, chart))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('overheadSummary', () => {
  const part = (periodic: number[]): CpuScenarioResult => {
    const row = (id: string, cpu: number, stats?: number[]) => ({
      id,
      label: id,
      note: '',
      extra: false,
      cpuNsPerRecord: cpu,
      wallNsPerRecord: cpu,
      cpuSamples: [cpu],
      wallSamples: [cpu],
      checksum: { count: 1, sum: 1 },
      warmupRuns: 1,
      ...(stats === undefined ? {} : { stats: { periodicCheckpoints: stats } }),
    });
    return {
      kind: 'cpu',
      id: 'CK',
      title: 'S3 without and with',
      description: '',
      records: 1_000_000,
      isolated: false,
      repetitions: 1,
      measuredRuns: periodic.length,
      baseline: 'tributary',
      subject: 'tributary-checkpointing',
      measuredAt: '',
      command: '',
      quick: false,
      environment: { node: '', v8: '', platform: '', cpuModel: '', cpus: 2, totalMemoryGb: 1, loadAverage: [] },
      contenders: [row('tributary', 100), row('tributary-checkpointing', 110, periodic)],
      targets: [],
    };
  };

  it('gives the ratio and the CPU per checkpoint when checkpoints completed', () => {
    // 10 ns more per record over 1,000,000 records = 10 ms, over 4 periodic + 1 final checkpoints.
    const text = overheadSummary(part([4, 4, 3]), 100);
    expect(text).toContain('1.10x the CPU per record');
    expect(text).toContain('4 periodic checkpoints completed per run');
    expect(text).toContain('2.00 ms of extra CPU per checkpoint');
  });

  it('does not print a negative cost when checkpointing measured cheaper (noise)', () => {
    const faster = part([3]);
    const text = overheadSummary({ ...faster, contenders: [faster.contenders[0]!, { ...faster.contenders[1]!, cpuNsPerRecord: 95 }] }, 100);
    expect(text).toContain('0.95x the CPU per record');
    expect(text).toContain('no extra CPU measurable above the noise');
  });

  it('says the ratio measures nothing about periodic checkpoints when a run completed none', () => {
    const text = overheadSummary(part([2, 0, 1]), 100);
    expect(text).toMatch(/^No periodic checkpoint completed in 1 of 3 runs/);
    expect(text).not.toContain('per checkpoint');
  });
});

describe('TriggerClock', () => {
  it('holds scheduled callbacks until fire(), and announces each schedule call', async () => {
    const clock = new TriggerClock();
    const fired: number[] = [];
    const announced = clock.nextSchedule();
    clock.schedule(clock.now() + 100, () => fired.push(1));
    await announced;
    const cancel = clock.schedule(0, () => fired.push(2));
    cancel();
    expect(fired).toEqual([]);
    expect(clock.fire()).toBe(1);
    expect(fired).toEqual([1]);
    expect(clock.fire()).toBe(0);
  });
});

describe('TempDirs', () => {
  it('hands out fresh paths under one root and removes them all', async () => {
    const dirs = new TempDirs('tributary-bench-test-');
    expect(() => dirs.next()).toThrow(/before open/);
    await dirs.open();
    const [a, b] = [dirs.next(), dirs.next()];
    expect(a).not.toBe(b);
    await mkdir(a, { recursive: true });
    await writeFile(join(a, 'x'), 'x');
    await dirs.dispose();
    expect(existsSync(a)).toBe(false);
    expect(existsSync(join(a, '..'))).toBe(false);
  });
});
