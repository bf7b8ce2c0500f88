import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AsyncDataStream } from '@tributary/async';
import {
  FileSink,
  FileSource,
  ListStateDescriptor,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Collector,
  type EnvironmentOptions,
  type JobClient,
  type JobExecutionResult,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type ListState,
  type RuntimeContext,
  type ValueState,
} from '@tributary/core';
import type { Doc } from './corpus.js';
import type { EmbeddedDoc, Embedder } from './embedders.js';
import { RandomHyperplaneLsh, type LshOptions } from './lsh.js';

/** The job's name: its metrics are `job.embed-documents.operator.<operator>.<subtask>.<metric>`. */
export const JOB_NAME = 'embed-documents';
/** The async batch operator's name, under which its metrics (`batchSize`, `callLatencyMs`, ...) are registered. */
export const EMBED_OPERATOR = 'embed';

/** Two documents whose embeddings have a cosine similarity of at least the threshold; `a` < `b`. */
export interface DuplicatePair {
  readonly a: string;
  readonly b: string;
  readonly cosine: number;
  readonly textA: string;
  readonly textB: string;
}

export interface NearDuplicateJobOptions {
  /** JSON lines, one `{ "id": ..., "text": ... }` per line. */
  readonly input: string;
  /** Directory the pairs go to, as JSON lines (`part-0-<run>.jsonl`); earlier part files there are removed. */
  readonly output: string;
  readonly embedder: Embedder;
  /** Cosine similarity at or above which two documents are near-duplicates. */
  readonly threshold: number;
  /** Records per embedding call. Default 64. */
  readonly maxBatchSize?: number;
  /** Passed to `StreamExecutionEnvironment.create` (a `metrics` registry to watch, a clock, parallelism). */
  readonly environment?: EnvironmentOptions;
  /** Called with the running job's client as it starts (to watch it: `--ui`); if it throws, the job is cancelled. */
  readonly onStart?: (job: JobClient) => void | Promise<void>;
}

export interface NearDuplicateResult {
  readonly job: JobExecutionResult;
  /** What the job wrote, in the order of the file. */
  readonly pairs: readonly DuplicatePair[];
  /** The file it wrote them to. */
  readonly outputFile: string;
}

/**
 * 32 bands of 10 bits: two documents share a bucket with probability 0.9995 at
 * cosine 0.9, 0.97 at 0.8 (the default threshold) and 0.13 at 0.25 (unrelated texts).
 */
export const DEFAULT_LSH: LshOptions = { bands: 32, bitsPerBand: 10, seed: 1 };

/**
 * Finds near-duplicate documents: reads them from a file, embeds them in
 * batches with the async batch operator, puts each embedding in one
 * locality-sensitive-hash bucket per band, compares each document with the
 * documents already in its buckets (keyed state), and writes every pair at
 * or above the threshold once.
 */
export async function findNearDuplicates(options: NearDuplicateJobOptions): Promise<NearDuplicateResult> {
  const { embedder, threshold } = options;
  const lsh = new RandomHyperplaneLsh(DEFAULT_LSH);
  await removePartFiles(options.output);

  const env = StreamExecutionEnvironment.create({ parallelism: 1, ...options.environment });
  const docs = env.fromSource(new FileSource(options.input), 'documents').map(parseDoc).name('parse');

  const embedded = AsyncDataStream.unorderedWaitBatch(docs, embedder.embed, {
    maxBatchSize: options.maxBatchSize ?? 64, // one model call embeds up to 64 documents
    maxBatchDelay: 5, // a partial batch waits at most 5 ms for more
    maxInFlightBatches: 2, // two calls at once keep the model busy
    ...embedder.operatorOptions,
  })
    .name(EMBED_OPERATOR)
    .uid(EMBED_OPERATOR);

  embedded
    .flatMap((doc) => lsh.bucketKeys(doc.vector).map((bucket): BucketEntry => ({ bucket, doc })))
    .name('lsh buckets')
    .keyBy((entry) => entry.bucket)
    .process(new BucketMatcher(threshold))
    .name('compare in bucket')
    .keyBy((pair) => `${pair.a} ${pair.b}`)
    .process(new FirstOccurrence())
    .name('drop repeats')
    .sinkTo(FileSink.jsonLines<DuplicatePair>(options.output, { guarantee: 'at-least-once' }))
    .name('pairs file')
    .setParallelism(1);

  const client = env.executeAsync(JOB_NAME);
  try {
    await options.onStart?.(client);
  } catch (error) {
    client.cancel();
    await client.result.catch(() => undefined);
    throw error;
  }
  const job = await client.result;
  const outputFile = await partFile(options.output);
  return { job, pairs: await readPairs(outputFile), outputFile };
}

/** A document in one of its LSH buckets (`<band>:<bits>`). */
interface BucketEntry {
  readonly bucket: string;
  readonly doc: EmbeddedDoc;
}

const MEMBERS = new ListStateDescriptor<EmbeddedDoc>('bucket members');

/**
 * Keyed by bucket: compares each new document with the documents already in
 * the bucket, emits the pairs at or above the threshold, then joins the bucket.
 */
export class BucketMatcher implements KeyedProcessFunction<string, BucketEntry, DuplicatePair> {
  private members: ListState<EmbeddedDoc> | undefined;

  constructor(private readonly threshold: number) {}

  open(ctx: RuntimeContext): void {
    this.members = ctx.getListState(MEMBERS);
  }

  processElement({ doc }: BucketEntry, _ctx: KeyedProcessContext<string>, out: Collector<DuplicatePair>): void {
    const members = this.members as ListState<EmbeddedDoc>;
    for (const other of members.get()) {
      const cosine = dot(doc.vector, other.vector);
      if (cosine >= this.threshold) out.collect(pairOf(doc, other, cosine));
    }
    members.add(doc);
  }
}

const SEEN = new ValueStateDescriptor<boolean>('seen', false);

/** Keyed by pair: a pair found in several bands goes out once. */
export class FirstOccurrence implements KeyedProcessFunction<string, DuplicatePair, DuplicatePair> {
  private seen: ValueState<boolean> | undefined;

  open(ctx: RuntimeContext): void {
    this.seen = ctx.getState(SEEN);
  }

  processElement(pair: DuplicatePair, _ctx: KeyedProcessContext<string>, out: Collector<DuplicatePair>): void {
    const seen = this.seen as ValueState<boolean>;
    if (seen.value() === true) return;
    seen.update(true);
    out.collect(pair);
  }
}

/** Parses one input line; a bad line fails the job with the line in the message. */
export function parseDoc(line: string): Doc {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`not a JSON line: ${line.slice(0, 80)}`);
  }
  const { id, text } = (value ?? {}) as Partial<Record<keyof Doc, unknown>>;
  if (typeof id !== 'string' || typeof text !== 'string') throw new Error(`expected {"id": string, "text": string}, got: ${line.slice(0, 80)}`);
  return { id, text };
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function pairOf(x: EmbeddedDoc, y: EmbeddedDoc, cosine: number): DuplicatePair {
  const [first, second] = x.id < y.id ? [x, y] : [y, x];
  return { a: first.id, b: second.id, cosine: Math.round(cosine * 10_000) / 10_000, textA: first.text, textB: second.text };
}

/** The sink appends to `part-<subtask>.jsonl`: start each run with none. */
async function removePartFiles(directory: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => PART_FILE.test(name)).map((name) => rm(join(directory, name), { force: true })));
}

/** The sink's part files: `part-<subtask>-<run>.jsonl` (and `part-<subtask>.jsonl` from older versions). */
const PART_FILE = /^part-\d+(-[0-9a-f]+)?\.jsonl$/;

/** The one part file the job wrote (earlier ones were removed before it started). */
async function partFile(directory: string): Promise<string> {
  const name = (await readdir(directory)).find((n) => PART_FILE.test(n));
  if (name === undefined) throw new Error(`no part file in ${directory}`);
  return join(directory, name);
}

async function readPairs(file: string): Promise<DuplicatePair[]> {
  // The sink creates the file when it opens, so it exists even when no pair was found.
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as DuplicatePair);
}
