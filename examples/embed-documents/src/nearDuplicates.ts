import { createReadStream } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { AsyncDataStream } from '@tributary/async';
import {
  defineJob,
  FileSink,
  FileSource,
  makeDirectory,
  OptionChecker,
  StreamExecutionEnvironment,
  type Collector,
  type FlatMapFunction,
  type JobClient,
  type JobExecutionResult,
  type MetricRegistry,
  type Runtime,
} from '@tributary/core';
import { BucketMatcher, bucketEntries, type DuplicatePair } from './BucketMatcher.js';
import type { Doc } from './corpus.js';
import { createEmbedder, type EmbeddedDoc, type EmbedderChoice } from './embedders.js';
import { RandomHyperplaneLsh, type LshOptions } from './lsh.js';

/** The job's name: its metrics are `job.embed-documents.operator.<operator>.<subtask>.<metric>`. */
export const JOB_NAME = 'embed-documents';
/** The async batch operator's name, under which its metrics (`batchSize`, `callLatencyMs`, ...) are registered. */
export const EMBED_OPERATOR = 'embed';

/**
 * What the job's graph is built from: plain data (structured-cloneable), so
 * that every thread that builds the job builds the same graph from it.
 */
export interface NearDuplicateJobArgs {
  /** JSON lines, one `{ "id": ..., "text": ... }` per line. */
  readonly input: string;
  /** Directory the pairs go to, as JSON lines (`part-0-<run>.jsonl`). */
  readonly output: string;
  /** Cosine similarity at or above which two documents are near-duplicates. */
  readonly threshold: number;
  /** Records per embedding call. */
  readonly batchSize: number;
  readonly embedder: EmbedderChoice;
  /** Subtasks of every operator but the source and the sink: above 1, one task slot (worker thread) each. */
  readonly parallelism: number;
  /** Default: task slots when `parallelism` is above 1; `'single-thread'` runs every subtask on the main thread. */
  readonly runtime?: Runtime;
  /** Embed each distinct text once per subtask: repeats share the call of their batch or come from a cache of results. Default true. */
  readonly dedupe?: boolean;
}

export interface NearDuplicateResult {
  readonly job: JobExecutionResult;
  /** What the job wrote, in the order of the file. */
  readonly pairs: readonly DuplicatePair[];
  /** The file it wrote them to. */
  readonly outputFile: string;
  /** The job's metrics (merged from every slot). */
  readonly metrics: MetricRegistry;
}

/**
 * 32 bands of 10 bits: two documents share a bucket with probability 0.9995 at
 * cosine 0.9, 0.97 at 0.8 (the default threshold) and 0.13 at 0.25 (unrelated texts).
 */
export const DEFAULT_LSH: LshOptions = { bands: 32, bitsPerBand: 10, seed: 1 };

/**
 * A text is embedded once: a repost takes its vector from the call of an
 * identical text in its batch or from a cache of the subtask's last 20,000
 * results (vectors of 128 floats from the local model: at most 10 MB; of
 * 1,536 from a server's model: 120 MB).
 */
const DEDUPE_BY_TEXT = {
  key: (doc: Doc) => doc.text,
  withInput: (result: EmbeddedDoc, doc: Doc): EmbeddedDoc => ({ ...doc, vector: result.vector }),
  cache: { maxEntries: 20_000 },
};

/**
 * The near-duplicate job's graph: reads documents from a file, embeds them in
 * batches with the async batch operator, puts each embedding in one
 * locality-sensitive-hash bucket per band, compares each document with the
 * documents already in its buckets (keyed state), and writes every pair at
 * or above the threshold once. It has no side effects: the caller removes
 * earlier part files and runs it ({@link findNearDuplicates} does both).
 */
export function buildNearDuplicateJob(args: NearDuplicateJobArgs): StreamExecutionEnvironment {
  const check = new OptionChecker('buildNearDuplicateJob()');
  const threshold = check.number('threshold', args.threshold, { min: -1, max: 1 });
  const batchSize = check.integer('batchSize', args.batchSize);
  const parallelism = check.integer('parallelism', args.parallelism);
  const dedupe = check.optionalBoolean('dedupe', args.dedupe) ?? true;
  const embedder = createEmbedder(args.embedder);
  const lsh = new RandomHyperplaneLsh(DEFAULT_LSH);

  const env = StreamExecutionEnvironment.create({ parallelism, ...(args.runtime === undefined ? {} : { runtime: args.runtime }) });
  // One file is one split: one reader parses it; documents then go to the embedding subtasks by their
  // text, so a repeated text meets the subtask (and the dedupe cache) that embedded its first copy.
  const docs = env
    .fromSource(new FileSource(args.input), 'documents')
    .setParallelism(1)
    .flatMap(new DocParser())
    .name('parse')
    .setParallelism(1)
    .keyBy((doc) => doc.text);

  const embedded = AsyncDataStream.unorderedWaitBatch(docs, embedder.embed, {
    maxBatchSize: batchSize,
    maxBatchDelay: 5, // a partial batch waits at most 5 ms for more
    maxInFlightBatches: 2, // two calls at once keep the model busy
    ...embedder.operatorOptions,
    resultMode: 'per-item', // one vector per document: what dedupe hands to each repeat
    dedupe: dedupe ? DEDUPE_BY_TEXT : undefined,
  })
    .name(EMBED_OPERATOR)
    .uid(EMBED_OPERATOR);

  embedded
    .flatMap(bucketEntries(lsh))
    .name('lsh buckets')
    .keyBy((entry) => entry.bucket)
    .process(new BucketMatcher({ threshold, lsh: DEFAULT_LSH }))
    .name('compare in bucket')
    .sinkTo(FileSink.jsonLines<DuplicatePair>(args.output, { guarantee: 'at-least-once' }))
    .name('pairs file')
    .setParallelism(1);
  return env;
}

/**
 * The job as a job module: every task slot imports this module and builds the
 * graph of {@link buildNearDuplicateJob} from the same arguments.
 */
export const nearDuplicatesJob = defineJob({ module: import.meta.url, build: buildNearDuplicateJob });

/**
 * Runs the job once: removes the part files of earlier runs, runs
 * {@link nearDuplicatesJob}, and reads back the pairs it wrote. `onStart` gets
 * the running job's client (to watch it: the progress line, `--ui`); if it
 * throws, the job is cancelled.
 */
export async function findNearDuplicates(args: NearDuplicateJobArgs, onStart?: (job: JobClient) => void | Promise<void>): Promise<NearDuplicateResult> {
  const unlock = await lockOutput(args.output);
  try {
    await removePartFiles(args.output);
    const client = nearDuplicatesJob.executeAsync(args, { jobName: JOB_NAME });
    try {
      await onStart?.(client);
    } catch (error) {
      client.cancel();
      await client.result.catch(() => undefined);
      throw error;
    }
    const job = await client.result;
    const outputFile = await partFile(args.output);
    return { job, pairs: await readPairs(outputFile), outputFile, metrics: client.metrics };
  } finally {
    await unlock();
  }
}

/**
 * Claims the output directory for this run: a run removes the part files it finds and reads back the one
 * it wrote, so a second run into the same directory at once would delete the first one's file and read
 * the wrong one. A lock left by a run that died is taken over.
 */
async function lockOutput(directory: string): Promise<() => Promise<void>> {
  await makeDirectory(directory);
  const lock = join(directory, '.embed-documents.lock');
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      heldLocks.add(lock);
      return async () => {
        heldLocks.delete(lock);
        await rm(lock, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(lock, 'utf8').catch(() => ''));
    // This process's pid in a lock it does not hold: a run before it had the same pid (a container's entry point) and died.
    const alive = holder === process.pid ? heldLocks.has(lock) : Number.isInteger(holder) && holder > 0 && isRunning(holder);
    if (alive) throw new Error(`another run (pid ${holder}) is writing to ${directory}: give this one another --out`);
    await rm(lock, { force: true });
  }
}

/** The output locks runs in this process hold. */
const heldLocks = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Parses the input's lines in order (the file has one reader): a blank line is skipped, a bad one fails the job
 * naming its line number. A plain object: each subtask (and each restart) gets a copy, counting from line 1.
 */
export class DocParser implements FlatMapFunction<string, Doc> {
  private line = 0;

  flatMap(line: string, out: Collector<Doc>): void {
    this.line++;
    if (!isBlankLine(line)) out.collect(parseDoc(line, this.line));
  }
}

/** A line the parser skips (the `FileSource` the job reads with drops a byte order mark at the file's start). */
export function isBlankLine(line: string): boolean {
  return line.trim() === '';
}

/** Parses one input line; a bad line fails the job with its number and text in the message. */
export function parseDoc(line: string, lineNumber: number): Doc {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`line ${lineNumber}: not a JSON line: ${line.slice(0, 80)}`);
  }
  const { id, text } = (value ?? {}) as Partial<Record<keyof Doc, unknown>>;
  if (typeof id !== 'string' || typeof text !== 'string') throw new Error(`line ${lineNumber}: expected {"id": string, "text": string}, got: ${line.slice(0, 80)}`);
  return { id, text };
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
  // The sink creates the file when it opens, so it exists even when no pair was found. Line by line: at a
  // low --threshold it holds far more than one string can.
  const pairs: DuplicatePair[] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) if (line !== '') pairs.push(JSON.parse(line) as DuplicatePair);
  return pairs;
}
