import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CpuScenario } from '../src/harness/cpuRunner.js';
import { parseOptions } from '../src/options.js';
import { writeDocs } from '../src/report/docs.js';
import { buildScenarios, runScenario } from '../src/scenarios/index.js';
import { EmbeddingSink, generateDocs, S5_SESSION_OPTIONS } from '../src/scenarios/onnxEmbedding.js';
import { RESULTS_SCHEMA } from '../src/harness/results.js';

// S5 with 130 texts (two full batches of 64 and one of 2): every contender must
// embed every text once, each embedding must match its text's reference, and
// the batched rows must call the session with the same batches. No timing.

const TEXTS = 130;
const s5 = buildScenarios().S5 as CpuScenario;

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Records the batch size of every session run while it is installed: of
 * sessions created in this thread (`session.run`), and of the session worker
 * threads `onnxTextEmbedder` runs on (their requests), with the options of the
 * sessions created in this thread.
 */
function recordBatchSizes(): { sizes: number[]; options: unknown[] } {
  const seen = { sizes: [] as number[], options: [] as unknown[] };
  const create = InferenceSession.create.bind(InferenceSession) as (...args: unknown[]) => Promise<InferenceSession>;
  vi.spyOn(InferenceSession, 'create').mockImplementation(async (...args: unknown[]) => {
    seen.options.push(args[1]);
    const session = await create(...args);
    const run = session.run.bind(session);
    vi.spyOn(session, 'run').mockImplementation((feeds, ...rest) => {
      seen.sizes.push(feeds['ids']!.dims[0]!);
      return (run as (...a: unknown[]) => ReturnType<typeof run>)(feeds, ...rest);
    });
    return session;
  });
  // On the prototype, not on each thread as it starts: a row runs on the session workers an earlier row left idle.
  const post = Object.getOwnPropertyDescriptor(Worker.prototype, 'postMessage')!.value as (this: Worker, ...args: Parameters<Worker['postMessage']>) => void;
  vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (this: Worker, message: { inputs?: readonly unknown[] }, transfer) {
    // A request brings the batch's texts: the worker tokenizes them.
    if (message?.inputs !== undefined) seen.sizes.push(message.inputs.length);
    post.call(this, message, transfer);
  });
  return seen;
}

describe('S5 texts', () => {
  it('are deterministic, 8 to 24 words, and the first m of n are the m texts', () => {
    const docs = generateDocs(200);
    expect(generateDocs(200)).toEqual(docs);
    expect(generateDocs(50)).toEqual(docs.slice(0, 50));
    expect(docs.map((d) => d.id)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const d of docs) {
      const words = d.text.split(' ').length;
      expect(words).toBeGreaterThanOrEqual(8);
      expect(words).toBeLessThanOrEqual(24);
    }
    expect(new Set(docs.map((d) => d.text)).size).toBe(200);
  });
});

describe('S5 contenders', () => {
  const expectedBatches: Record<string, number[]> = {
    'hand-loop': [64, 64, 2],
    tributary: [64, 64, 2],
    'tributary-in-thread': [64, 64, 2],
    'tributary-per-record': new Array<number>(TEXTS).fill(1),
    'hand-loop-per-record': new Array<number>(TEXTS).fill(1),
    'hand-loop-warm-session': [64, 64, 2],
    'tributary-warm-session': [64, 64, 2],
  };

  it('are the rows the targets and the docs name', () => {
    expect(s5.contenders.map((c) => c.id).sort()).toEqual(Object.keys(expectedBatches).sort());
    for (const t of s5.targets) expect(Object.keys(expectedBatches)).toContain(t.subject);
  });

  it.each(s5.contenders.map((c) => [c.id, c] as const))(
    '%s embeds every text once, as its reference, in the expected batches, with the shared session options',
    async (id, contender) => {
      // Installed before prepare(): the warm-session rows create their session there.
      const seen = recordBatchSizes();
      await contender.prepare?.(TEXTS);
      seen.sizes.length = 0;
      try {
        await expect(contender.run(TEXTS)).resolves.toEqual({ count: TEXTS, sum: (TEXTS * (TEXTS - 1)) / 2 });
      } finally {
        await contender.teardown?.();
      }
      expect(seen.sizes).toEqual(expectedBatches[id]);
      // The Tributary rows' sessions live in worker threads (whose options this thread cannot see); the others are here.
      for (const options of seen.options) expect(options).toMatchObject({ intraOpNumThreads: S5_SESSION_OPTIONS.intraOpNumThreads });
    },
    20_000,
  );
});

describe('EmbeddingSink', () => {
  it('counts embeddings that match their reference and fails on one that does not', () => {
    const sink = new EmbeddingSink([Float32Array.of(1, 0), Float32Array.of(0, 1)]);
    sink.deliver({ id: 1, vector: Float32Array.of(0, 1) });
    expect(sink.result()).toEqual({ count: 1, sum: 1 });
    expect(() => sink.deliver({ id: 0, vector: Float32Array.of(0, 1) })).toThrow(/text 0 is not its reference/);
    expect(() => sink.deliver({ id: 7, vector: Float32Array.of(1, 0) })).toThrow(/text 7/);
  });
});

describe('S5 end to end', () => {
  it('runs in quick mode, judges the 5% target and writes its docs section and chart', async () => {
    const result = await runScenario(s5, parseOptions(['--quick', '--in-process', '--records', '70']), 'test', () => undefined);
    if (result.kind !== 'cpu') throw new Error('S5 is a CPU scenario');
    expect(result.unit).toBe('embeddings');
    expect(result.contenders.map((c) => c.checksum)).toEqual(result.contenders.map(() => ({ count: 70, sum: (70 * 69) / 2 })));
    expect(result.targets.map((t) => [t.label, t.bound, t.threshold])).toEqual(s5.targets.map((t) => [t.label, 'at-most', 1.05]));
    expect(s5.targets.map((t) => t.subject)).toEqual(['tributary', 'tributary-in-thread']);

    const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-docs-'));
    try {
      const paths = { docs: join(dir, 'benchmarks.md'), charts: join(dir, 'benchmarks') };
      writeDocs({ schema: RESULTS_SCHEMA, scenarios: { S5: result } }, paths);
      const docs = readFileSync(paths.docs, 'utf8');
      expect(docs).toContain('## S5: local ONNX text embedder');
      expect(docs).toContain(`| S5 | ${s5.targets[0]!.label} |`);
      expect(docs).toContain('embeddings/s (wall)');
      expect(docs).toMatch(/Batch 64 vs per-record calls through Tributary: [\d.]+x the embeddings per second/);
      expect(docs).toMatch(/Tributary batch 64 takes [\d.]+x the loop's CPU per embedding\. The default row .* pays -?[\d,]+ µs more CPU for the trip/);
      expect(docs).not.toContain('undefined');
      expect(existsSync(join(paths.charts, 's5-embeddings-per-second.svg'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
