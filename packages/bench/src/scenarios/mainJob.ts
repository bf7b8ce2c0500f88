import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EMBED_OPERATOR,
  batchStats,
  compareWithPlanted,
  findNearDuplicates,
  generateCorpus,
  type NearDuplicateJobArgs,
  type PlantedPair,
} from '@tributary/example-embed-documents';
import { ensureEmbedderModel } from '@tributary/onnx';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Contender, RunStats } from '../harness/model.js';
import { S5_MODEL_DIR } from './onnxEmbedding.js';

/** Issue 21: the main job's pipeline at 20,000 documents. */
export const S6_DOCS = 20_000;

/** The corpus file, the generated model and a directory for the pairs, made once before any measurement. */
class Workload {
  private dir: string | undefined;
  private prepared: { readonly docs: number; readonly args: NearDuplicateJobArgs; readonly planted: readonly PlantedPair[] } | undefined;

  async prepare(docs: number): Promise<void> {
    if (this.prepared?.docs === docs) return;
    const model = await ensureEmbedderModel({ cacheDir: S5_MODEL_DIR });
    this.dir ??= await mkdtemp(join(tmpdir(), 'tributary-bench-s6-'));
    const corpus = generateCorpus({ docs });
    const input = join(this.dir, `corpus-${docs}.jsonl`);
    await writeFile(input, corpus.docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
    // The command line's defaults: threshold 0.8, batches of 64, the local model, one subtask.
    const args: NearDuplicateJobArgs = { input, output: join(this.dir, 'pairs'), threshold: 0.8, batchSize: 64, embedder: { kind: 'local', model }, parallelism: 1 };
    this.prepared = { docs, args, planted: corpus.planted };
  }

  /** The prepared corpus: a run takes every document of it (a smaller count is a prefix, but the file is fixed). */
  take(docs: number): { readonly args: NearDuplicateJobArgs; readonly planted: readonly PlantedPair[] } {
    if (this.prepared?.docs !== docs) throw new Error(`S6: ${docs} documents asked, ${this.prepared?.docs ?? 0} prepared`);
    return this.prepared;
  }

  async dispose(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    this.prepared = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

function mainJob(w: Workload, parallelism: number): Contender<number, RunStats> {
  const slots = parallelism > 1;
  return {
    id: slots ? `tributary-slots-p${parallelism}` : 'tributary',
    label: slots ? `the main job, ${parallelism} slots` : 'the main job, one thread',
    note: slots
      ? `the same job at parallelism ${parallelism} in task slots (its default on this machine): slot 0 reads and parses, each slot embeds the documents whose text hashes to it, buckets and compares its share, the pairs file in slot 0`
      : '`findNearDuplicates` (examples/embed-documents): the graph of `buildNearDuplicateJob` (read, parse, embed in batches of 64 with the local ONNX model, ' +
        '2 calls in flight, dedupe by text (this corpus has no reposts), LSH buckets, compare in keyed state, pairs file), parallelism 1, on the main thread',
    // No recordsPerCall: a run makes 313 model calls, and warming up to WARMUP_CALLS would take 25 runs of several seconds.
    prepare: (n) => w.prepare(n),
    run: async (n) => {
      const { args, planted } = w.take(n);
      const { job, pairs, metrics } = await findNearDuplicates({ ...args, parallelism });
      const stats = batchStats(metrics.entries(), { job_id: job.jobId, operator: EMBED_OPERATOR });
      if (stats.recordsOut !== n) throw new Error(`S6: ${stats.recordsOut} of ${n} documents embedded`);
      return {
        // Every run must find the same pairs, and as many of the planted ones.
        count: pairs.length,
        sum: compareWithPlanted(pairs, planted).matched,
        stats: { callLatencyP50Ms: stats.callLatencyMs.p50, callLatencyP95Ms: stats.callLatencyMs.p95 },
      };
    },
    teardown: () => w.dispose(),
  };
}

/** S6 (issue 21): the main job's pipeline at 20,000 documents, docs/s and model-call latency. */
export function mainJobScenario(): CpuScenario {
  const w = new Workload();
  return {
    kind: 'cpu',
    id: 'S6',
    title: `the main job (embed, LSH buckets, compare) at ${S6_DOCS.toLocaleString('en-US')} documents`,
    description:
      "The main job's pipeline (examples/embed-documents) on its generated corpus with planted near-duplicates: each run embeds every document " +
      'with the local ONNX model and writes the pairs at cosine 0.8 or more. The corpus and the model are made before the measurement; ' +
      'the checksum is the pairs found and the planted pairs among them, the same in every run.',
    records: { full: S6_DOCS, quick: 400 },
    baseline: 'tributary',
    subject: 'tributary',
    unit: 'docs',
    contenders: [mainJob(w, 1), mainJob(w, 2)],
    targetFigure: 'wall',
    targets: [{ kind: 'min-speedup', label: 'two slots at least 1.7x the docs/s of one thread', subject: 'tributary-slots-p2', baseline: 'tributary', min: 1.7 }],
  };
}
