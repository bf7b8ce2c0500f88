import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { CpuScenario } from '../src/harness/cpuRunner.js';
import { RESULTS_SCHEMA } from '../src/harness/results.js';
import { parseOptions } from '../src/options.js';
import { writeDocs } from '../src/report/docs.js';
import { buildScenarios, runScenario } from '../src/scenarios/index.js';

// S5b with 200 texts (three batches of 64 and one of 8): both rows embed every
// text once, as its reference; with two calls in flight the batches go to two
// session workers. No timing.

const TEXTS = 200;
const s5b = buildScenarios().S5b as CpuScenario;

/**
 * The batch sizes each session worker receives from now on, by thread: the workers started from now on, and those
 * an earlier row left idle that this row takes (seen by their requests: a reused thread starts no more).
 */
function watchWorkerBatches(): Map<Worker, number[]> {
  const perWorker = new Map<Worker, number[]>();
  const onWorker = (thread: Worker) => perWorker.set(thread, []);
  const post = Object.getOwnPropertyDescriptor(Worker.prototype, 'postMessage')!.value as (this: Worker, ...args: Parameters<Worker['postMessage']>) => void;
  const spy = vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, message: { inputs?: readonly unknown[] }, transfer) {
    // A request brings the batch's texts: the worker tokenizes them.
    if (message?.inputs !== undefined) perWorker.set(this, [...(perWorker.get(this) ?? []), message.inputs.length]);
    post.call(this, message, transfer);
  });
  process.on('worker', onWorker);
  onTestFinished(() => {
    process.off('worker', onWorker);
    spy.mockRestore();
  });
  return perWorker;
}

describe('S5b contenders', () => {
  it('are the two rows its targets name', () => {
    expect(s5b.contenders.map((c) => c.id)).toEqual(['in-flight-1', 'in-flight-2']);
    expect(s5b.targets.map((t) => t.subject)).toEqual(['in-flight-2', 'in-flight-2']);
  });

  it.each([
    ['in-flight-1', 1],
    ['in-flight-2', 2],
  ] as const)('%s embeds every text once, as its reference, on %i session worker(s), and reports the event-loop delay', async (id, workers) => {
    const contender = s5b.contenders.find((c) => c.id === id)!;
    onTestFinished(() => contender.teardown?.());
    await contender.prepare?.(TEXTS);
    const batches = watchWorkerBatches();
    for (const run of [1, 2]) {
      const result = await contender.run(TEXTS);
      expect(result).toMatchObject({ count: TEXTS, sum: (TEXTS * (TEXTS - 1)) / 2 });
      expect(result.stats?.['loopDelayP99Us']).toBeGreaterThan(0);
      expect([...batches.values()].flat().sort((a, b) => a - b)).toEqual(new Array<number[]>(run).fill([8, 64, 64, 64]).flat().sort((a, b) => a - b));
      // One call in flight never needs a second worker; two calls in flight start a second one, and the next run keeps them.
      expect(batches.size).toBe(workers);
    }
  }, 20_000);
});

describe('S5b end to end', () => {
  it('runs in quick mode, judges the rate on wall time and the delay on its stat, and writes its docs section', async () => {
    const result = await runScenario(s5b, parseOptions(['--quick', '--in-process', '--records', '130']), 'test', () => undefined);
    if (result.kind !== 'cpu') throw new Error('S5b is a CPU scenario');
    const [one, two] = result.contenders;
    const [rate, delay] = result.targets;
    expect(rate).toMatchObject({ bound: 'at-least', threshold: 1.7, measure: 'ratio', value: one!.wallNsPerRecord / two!.wallNsPerRecord });
    expect(delay).toMatchObject({ bound: 'at-most', threshold: 10_000, measure: 'stat' });
    expect(delay!.value).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-docs-'));
    try {
      const paths = { docs: join(dir, 'benchmarks.md'), charts: join(dir, 'benchmarks') };
      writeDocs({ schema: RESULTS_SCHEMA, scenarios: { S5b: result } }, paths);
      const docs = readFileSync(paths.docs, 'utf8');
      expect(docs).toContain('## S5b: the ONNX embedder with 2 calls in flight vs 1');
      expect(docs).toContain(`| S5b | ${s5b.targets[0]!.label} |`);
      expect(docs).toContain('event-loop delay p99 (µs)');
      expect(docs).toMatch(/Two calls in flight give [\d.]+x the embeddings per second of one\. The p99 of the main thread's event-loop delay while the job infers, median of the measured runs \(range\): [\d.]+ ms \([\d.]+-[\d.]+ ms\) with two in flight/);
      expect(docs).not.toContain('undefined');
      expect(existsSync(paths.charts)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
