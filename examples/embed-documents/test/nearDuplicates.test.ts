import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidJobError } from '@tributary/core';
import { ensureEmbedderModel, onnxTextEmbedder } from '@tributary/onnx';
import { batchStats } from '../src/batchStats.js';
import { generateCorpus, REPOST_SHARE } from '../src/corpus.js';
import type { DuplicatePair } from '../src/BucketMatcher.js';
import type { EmbedderChoice } from '../src/embedders.js';
import { EMBED_OPERATOR, buildNearDuplicateJob, findNearDuplicates, type NearDuplicateJobArgs } from '../src/nearDuplicates.js';
import { compareWithPlanted } from '../src/report.js';
import { startEmbeddingsServer } from './support/embeddingsServer.js';

const THRESHOLD = 0.8;
// A slice of the main job's corpus: the first 400 documents of the 5,000 (the generator makes prefixes).
const { docs, planted } = generateCorpus({ docs: 400, repostShare: REPOST_SHARE });
const distinctTexts = new Set(docs.map((d) => d.text)).size;
let dir: string;
let input: string;
/** The reference: every pair at or above the threshold, by comparing all pairs of the model's embeddings. */
let allPairsAbove: Set<string>;
let cosines: Map<string, number>;
let local: EmbedderChoice;
/** The job's arguments as the command line passes them by default, for the output directory `out`. */
const args = (out: string, changes: Partial<NearDuplicateJobArgs> = {}): NearDuplicateJobArgs => ({
  input,
  output: join(dir, out),
  threshold: THRESHOLD,
  batchSize: 64,
  embedder: local,
  parallelism: 1,
  ...changes,
});

const pairKey = (a: string, b: string) => (a < b ? `${a} ${b}` : `${b} ${a}`);

async function embedAll(texts: string[]): Promise<Float32Array[]> {
  const embedder = onnxTextEmbedder({ model: await ensureEmbedderModel(), sessionOptions: { intraOpNumThreads: 1 } }).create();
  try {
    return await embedder.invoke(texts);
  } finally {
    await embedder.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embed-documents-'));
  input = join(dir, 'corpus.jsonl');
  local = { kind: 'local', model: await ensureEmbedderModel() };
  await writeFile(input, docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
  const vectors = await embedAll(docs.map((d) => d.text));
  allPairsAbove = new Set();
  cosines = new Map();
  for (let i = 0; i < docs.length; i++) {
    for (let j = i + 1; j < docs.length; j++) {
      const cosine = vectors[i]!.reduce((s, x, k) => s + x * vectors[j]![k]!, 0);
      const key = pairKey(docs[i]!.id, docs[j]!.id);
      cosines.set(key, cosine);
      if (cosine >= THRESHOLD) allPairsAbove.add(key);
    }
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectGoodPairs(pairs: readonly DuplicatePair[]) {
  const keys = pairs.map((p) => pairKey(p.a, p.b));
  expect(new Set(keys).size).toBe(keys.length); // each pair once, although found in several bands
  for (const p of pairs) {
    expect(p.a < p.b).toBe(true);
    expect(p.cosine).toBeGreaterThanOrEqual(THRESHOLD);
    expect(p.cosine).toBeCloseTo(cosines.get(pairKey(p.a, p.b))!, 3);
    expect([p.textA, p.textB]).toEqual([docs.find((d) => d.id === p.a)!.text, docs.find((d) => d.id === p.b)!.text]);
  }
}

describe('the near-duplicate job on 400 documents of the corpus', () => {
  it('finds every planted pair, and every pair at or above the threshold, with batches of up to 64', async () => {
    expect(planted.length).toBeGreaterThanOrEqual(20);
    expect(planted.some((p) => p.edit === 'repost')).toBe(true);
    const { pairs, job, metrics } = await findNearDuplicates(args('local'));

    expectGoodPairs(pairs);
    const comparison = compareWithPlanted(pairs, planted);
    expect(comparison.missed).toEqual([]);
    expect(comparison.recall).toBe(1);
    // LSH only prunes comparisons: the pairs are exactly those an all-pairs comparison finds.
    expect(new Set(pairs.map((p) => pairKey(p.a, p.b)))).toEqual(allPairsAbove);

    const stats = batchStats(metrics.entries(), { job_id: job.jobId, operator: EMBED_OPERATOR });
    expect(stats.recordsOut).toBe(docs.length);
    // Each document embedded, answered by the cache or sharing a call, once; most reposts are not embedded
    // again (one whose original is still in a call when it comes is: the cache holds results, not calls).
    expect(stats.recordsSent + stats.cacheHits + stats.dedupedRecords).toBe(docs.length);
    expect(stats.recordsSent).toBeLessThan(docs.length - (docs.length - distinctTexts) / 2);
    expect(stats.batches).toBeGreaterThanOrEqual(Math.ceil(docs.length / 64));
    expect(stats.callLatencyMs.count).toBe(stats.batches);
    expect(job.operators.find((o) => o.name === 'compare in bucket')?.recordsOut).toBe(pairs.length);
  });

  it('embeds every document with dedupe off, and finds the same pairs', async () => {
    const { pairs, job, metrics } = await findNearDuplicates(args('every', { dedupe: false }));
    expect(new Set(pairs.map((p) => pairKey(p.a, p.b)))).toEqual(allPairsAbove);
    const stats = batchStats(metrics.entries(), { job_id: job.jobId, operator: EMBED_OPERATOR });
    expect([stats.recordsOut, stats.recordsSent, stats.cacheHits + stats.dedupedRecords]).toEqual([docs.length, docs.length, 0]);
  });

  it('finds the same pairs at parallelism 2 in two task slots, the buckets split between them', async () => {
    const { pairs, job, metrics } = await findNearDuplicates(args('parallel', { parallelism: 2 }));
    expectGoodPairs(pairs);
    expect(new Set(pairs.map((p) => pairKey(p.a, p.b)))).toEqual(allPairsAbove);
    const parallelism = Object.fromEntries(job.operators.map((o) => [o.name, o.parallelism]));
    expect(parallelism).toMatchObject({ embed: 2, 'compare in bucket': 2, 'pairs file': 1 });
    // Both slots embedded documents, and their metrics reached the main thread's registry.
    const embedded = [0, 1].map((subtask) => metrics.snapshot({ job_id: job.jobId })[`job.embed-documents.operator.embed.${subtask}.numRecordsOut`]);
    expect(embedded.every((n) => typeof n === 'number' && n > 0)).toBe(true);
    expect((embedded as number[]).reduce((a, b) => a + b, 0)).toBe(docs.length);
    const stats = batchStats(metrics.entries(), { job_id: job.jobId, operator: EMBED_OPERATOR });
    expect(stats.recordsSent + stats.cacheHits + stats.dedupedRecords).toBe(docs.length);
  });

  it('sends documents to the embedding subtasks by their text, so a repeat meets the cache of its first copy', () => {
    const graph = buildNearDuplicateJob(args('never', { parallelism: 2 })).getJobGraph();
    const embed = graph.operators.find((o) => o.name === EMBED_OPERATOR);
    const into = graph.edges.filter((e) => e.to === embed?.id).map((e) => e.partitioning);
    expect(into).toEqual(['hash']);
  });

  it('at threshold 1 finds every pair of identical texts (a unit vector with itself is not exactly 1 in float32)', async () => {
    const { pairs } = await findNearDuplicates(args('threshold-1', { threshold: 1 }));
    const found = new Set(pairs.map((p) => pairKey(p.a, p.b)));
    const identical: string[] = [];
    for (let i = 0; i < docs.length; i++) for (let j = i + 1; j < docs.length; j++) if (docs[i]!.text === docs[j]!.text) identical.push(pairKey(docs[i]!.id, docs[j]!.id));
    expect(identical.length).toBeGreaterThan(0);
    // Before, about half were missed: their dot product came out at 0.99999979.
    expect(identical.filter((key) => !found.has(key))).toEqual([]);
  });

  it('refuses a second run into an output directory a running one holds, and takes over the lock of one that died, its pid taken again or not', async () => {
    const out = args('locked');
    await mkdir(out.output, { recursive: true });
    // A lock a live process holds: this test's parent.
    await writeFile(join(out.output, '.embed-documents.lock'), String(process.ppid));
    await expect(findNearDuplicates(out)).rejects.toThrow(`another run (pid ${process.ppid}) is writing to ${out.output}: give this one another --out`);
    // Before, the second run removed the first one's part file and could read back the other run's pairs.
    await writeFile(join(out.output, '.embed-documents.lock'), '999999999');
    // While a run of this very process holds it, a second one is refused.
    const first = await findNearDuplicates(out, async () => {
      await expect(findNearDuplicates(out)).rejects.toThrow(`another run (pid ${process.pid}) is writing to ${out.output}`);
    });
    expect(first.pairs.length).toBeGreaterThan(0);
    expect(existsSync(join(out.output, '.embed-documents.lock'))).toBe(false);
    // This process's pid in a lock no run of it holds: an earlier process of the same pid died with it (a container's entry point).
    await writeFile(join(out.output, '.embed-documents.lock'), String(process.pid));
    expect((await findNearDuplicates(out)).pairs.length).toBeGreaterThan(0);
  });

  it('rejects bad arguments when the job is built, naming the argument', () => {
    expect(() => buildNearDuplicateJob(args('never', { parallelism: 0 }))).toThrow(InvalidJobError);
    expect(() => buildNearDuplicateJob(args('never', { threshold: 1.5 }))).toThrow("buildNearDuplicateJob(): option 'threshold' must be a finite number in [-1, 1], got 1.5");
    expect(() => buildNearDuplicateJob(args('never', { batchSize: 0 }))).toThrow("buildNearDuplicateJob(): option 'batchSize' must be an integer >= 1, got 0");
    expect(() => buildNearDuplicateJob(args('never', { dedupe: 'yes' as never }))).toThrow("buildNearDuplicateJob(): option 'dedupe' must be");
  });

  it('finds the same pairs through an OpenAI-compatible server (--endpoint)', async () => {
    const server = await startEmbeddingsServer(embedAll);
    try {
      const embedder: EmbedderChoice = { kind: 'endpoint', baseUrl: server.baseUrl, model: 'test-embedder' };
      const { pairs, job, metrics } = await findNearDuplicates(args('endpoint', { embedder, batchSize: 50 }));
      expectGoodPairs(pairs);
      expect(new Set(pairs.map((p) => pairKey(p.a, p.b)))).toEqual(allPairsAbove);
      expect(server.models).toEqual(new Set(['test-embedder']));
      // The server embedded what the operator sent, fewer texts than documents.
      const sent = batchStats(metrics.entries(), { job_id: job.jobId, operator: EMBED_OPERATOR }).recordsSent;
      expect(server.batches.reduce((a, b) => a + b, 0)).toBe(sent);
      expect(sent).toBeLessThan(docs.length);
      expect(Math.max(...server.batches)).toBe(50);
    } finally {
      await server.close();
    }
  });

  it('fails with a message naming the operator and the line when the input has a bad line', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify(docs[0]!)}\n{"id": 7}\n`);
    await expect(findNearDuplicates(args('bad', { input: bad }))).rejects.toThrow(
      /operator 'parse'.*expected \{"id": string, "text": string\}, got: \{"id": 7\}/,
    );
  });
});
