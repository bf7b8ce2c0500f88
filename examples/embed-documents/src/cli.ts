import { constants } from 'node:fs';
import { availableParallelism, constants as osConstants } from 'node:os';
import { access, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FileSource, makeDirectory } from '@tributary/core';
import { startJobView, type JobViewServer } from '@tributary/web';
import { batchStats } from './batchStats.js';
import { generateCorpus, REPOST_SHARE, type PlantedPair } from './corpus.js';
import type { EmbedderChoice } from './embedders.js';
import { Progress, type ProgressStream } from './progress.js';
import { compareWithPlanted, formatReport } from './report.js';

const PROGRAM = 'embed-documents';

export const USAGE = `Usage: pnpm start [-- options]      (in examples/embed-documents: node dist/main.js [options])

Finds near-duplicate documents. Embeds each document with a local ONNX model
(or an OpenAI-compatible server) in batches through the async batch operator,
puts the embeddings in locality-sensitive-hash buckets, and compares the
documents of a bucket in keyed state. Writes the pairs as JSON lines and
prints a report: pairs found (recall and precision against the duplicates
planted in the generated corpus), throughput and batch statistics.

Options:
  --docs N          size of the generated corpus (default 5000); it has
                    near-duplicates and exact reposts (10%) planted at
                    known places
  --seed N          seed of the generated corpus (default 7)
  --input FILE      read this JSON-lines file of {"id": ..., "text": ...}
                    instead of generating a corpus (relative paths start
                    where you run the command)
  --out DIR         directory for the pairs: part-0-<run>.jsonl; earlier
                    part files there are removed on each run, and one run
                    at a time writes there (default:
                    examples/embed-documents/out)
  --threshold X     cosine similarity from which two documents are
                    near-duplicates (default 0.8)
  --batch-size N    documents per embedding call (default 64)
  --parallelism N   subtasks of the embedding and matching operators, one
                    task slot (worker thread) each when above 1 (default:
                    the machine's cores)
  --no-dedupe       embed every document, repeats too (by default each
                    distinct text is embedded once per subtask: a repeat
                    shares the call of its batch or comes from a cache)
  --endpoint URL    embed with an OpenAI-compatible server instead, e.g.
                    http://localhost:11434/v1 (Ollama); needs --model;
                    the API key, if any, comes from OPENAI_API_KEY
  --model NAME      the server's embedding model, e.g. nomic-embed-text
  --quiet           no progress while the job runs
  --ui              serve a live view of the job in the browser on
                    127.0.0.1 (prints the URL); it keeps serving the final
                    state after the report until Ctrl-C
  -h, --help        show this help
`;

/** Where the CLI writes: `process` in real use, collectors in tests. */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What `--ui` waits for after the report before it stops serving. Default: Ctrl-C (SIGINT). */
  readonly untilInterrupted?: () => Promise<void>;
}

/** A bad flag: one line on stderr, exit code 2. */
class UsageError extends Error {}
/** An input file the job cannot read: one line on stderr, exit code 2. */
class InputError extends Error {}

interface Settings {
  readonly docs: number;
  readonly seed: number;
  readonly input: string | undefined;
  readonly out: string;
  readonly threshold: number;
  readonly batchSize: number;
  readonly parallelism: number;
  readonly dedupe: boolean;
  readonly endpoint: string | undefined;
  readonly model: string | undefined;
  readonly quiet: boolean;
  readonly ui: boolean;
}

/**
 * The directory the command was run from, which relative paths start at. Under pnpm the process runs in the
 * package's directory: pnpm's INIT_CWD names where pnpm started, but that is the workspace root when it was started
 * in a directory of the workspace without a package.json of its own (docs/); the shell's PWD is the directory then.
 */
function whereRun(io: CliIo): string {
  const env = io.env ?? {};
  return env.INIT_CWD === undefined ? process.cwd() : (env.PWD ?? env.INIT_CWD);
}

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = process): Promise<number> {
  let settings: Settings | 'help';
  try {
    settings = parseSettings(argv, whereRun(io));
    if (settings !== 'help' && settings.input !== undefined) {
      await checkReadable(settings.input);
      // A run removes the part files it finds in --out before it starts: an input among them would be gone.
      if (within(settings.out, settings.input)) throw new UsageError(`--input '${settings.input}' is inside --out '${settings.out}', whose files each run replaces; keep the input elsewhere`);
    }
  } catch (error) {
    io.stderr.write(`${PROGRAM}: ${firstLine(error)}${error instanceof InputError ? '' : ' (see --help)'}\n`);
    return 2;
  }
  if (settings === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    return await run(settings, io);
  } catch (error) {
    io.stderr.write(`${PROGRAM}: ${firstLine(error)}\n`);
    return 1;
  }
}

/** Runs the job and prints its report; resolves with the exit code: 0, or 128 + the signal's number when stopped by one. */
async function run(settings: Settings, io: CliIo): Promise<number> {
  // Loaded here, not at the top: --help and a bad flag answer without loading the model runtime.
  const { ensureEmbedderModel } = await import('@tributary/onnx');
  const { DEFAULT_LSH, EMBED_OPERATOR, JOB_NAME, findNearDuplicates } = await import('./nearDuplicates.js');
  const { createEmbedder } = await import('./embedders.js');
  let input: string;
  let documents: number;
  let planted: readonly PlantedPair[] | undefined;
  let source: string;
  if (settings.input === undefined) {
    const corpus = generateCorpus({ docs: settings.docs, seed: settings.seed, repostShare: REPOST_SHARE });
    input = await writeCorpus(corpus.docs, `corpus-${settings.docs}-seed${settings.seed}.jsonl`);
    documents = corpus.docs.length;
    planted = corpus.planted;
    const reposts = corpus.planted.filter((p) => p.edit === 'repost').length;
    source = `generated corpus, seed ${settings.seed}, ${corpus.planted.length} planted near-duplicate pairs, ${reposts} of them exact reposts`;
  } else {
    input = settings.input;
    documents = await countDocuments(input);
    source = settings.input;
  }

  const embedder: EmbedderChoice =
    settings.endpoint === undefined
      ? { kind: 'local', model: await ensureEmbedderModel() }
      : { kind: 'endpoint', baseUrl: settings.endpoint, model: settings.model ?? '', apiKey: io.env?.OPENAI_API_KEY };

  let progress: Progress | undefined;
  let view: JobViewServer | undefined;
  let result;
  // Ctrl-C or SIGTERM cancels the job, so that its output directory is unlocked and the stop is said; a second one kills.
  let stoppedBy: NodeJS.Signals | undefined;
  let cancel: (() => void) | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    stoppedBy = signal;
    io.stderr.write(`${PROGRAM}: ${signal}: cancelling the job; ${settings.out} holds part of its output\n`);
    cancel?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const args = {
      input,
      output: settings.out,
      threshold: settings.threshold,
      batchSize: settings.batchSize,
      embedder,
      parallelism: settings.parallelism,
      dedupe: settings.dedupe,
    };
    result = await findNearDuplicates(args, async (job) => {
      cancel = () => job.cancel();
      if (stoppedBy !== undefined) job.cancel();
      // The job's registry: with slots, their metrics reach it at least once a second.
      if (!settings.quiet) progress = new Progress({ registry: job.metrics, job: JOB_NAME, operator: EMBED_OPERATOR, stream: io.stdout, total: documents }).start();
      if (settings.ui) io.stdout.write(`Job view: ${(view = await startJobView(job)).url}\n`);
    });
  } catch (error) {
    await view?.close();
    if (stoppedBy !== undefined) return exitCodeOf(stoppedBy);
    throw error;
  } finally {
    progress?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (stoppedBy !== undefined) {
    await view?.close();
    return exitCodeOf(stoppedBy);
  }

  const fromCwd = relative(whereRun(io), result.outputFile);
  const shownPath = fromCwd.startsWith('..') || isAbsolute(fromCwd) ? result.outputFile : fromCwd;
  io.stdout.write(
    formatReport({
      documents,
      source,
      embedder: createEmbedder(embedder).description,
      parallelism: settings.parallelism,
      threshold: settings.threshold,
      lsh: `LSH, ${DEFAULT_LSH.bands} bands of ${DEFAULT_LSH.bitsPerBand} hyperplane bits`,
      dedupe: settings.dedupe,
      job: result.job,
      stats: batchStats(result.metrics.entries(), { job_id: result.job.jobId, operator: EMBED_OPERATOR }),
      pairs: result.pairs,
      outputFile: shownPath,
      comparison: planted === undefined ? undefined : compareWithPlanted(result.pairs, planted),
    }),
  );
  if (view !== undefined) {
    io.stdout.write(`The job view keeps serving the final state at ${view.url}; press Ctrl-C to stop.\n`);
    await (io.untilInterrupted ?? untilSigint)();
    await view.close();
  }
  return 0;
}

/** The shell's exit code for a process a signal stopped. */
function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

function untilSigint(): Promise<void> {
  return new Promise((resolve) => process.once('SIGINT', () => resolve()));
}

/** `cwd`: where relative paths start, the directory the user ran the command in (pnpm runs scripts in the package). */
function parseSettings(argv: readonly string[], cwd: string): Settings | 'help' {
  const { values } = parseArgs({
    // `pnpm start -- --docs 100` hands the script a leading `--`.
    args: argv[0] === '--' ? argv.slice(1) : [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      docs: { type: 'string' },
      seed: { type: 'string' },
      input: { type: 'string' },
      out: { type: 'string' },
      threshold: { type: 'string' },
      'batch-size': { type: 'string' },
      parallelism: { type: 'string' },
      'no-dedupe': { type: 'boolean' },
      endpoint: { type: 'string' },
      model: { type: 'string' },
      quiet: { type: 'boolean' },
      ui: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  if ((values.endpoint === undefined) !== (values.model === undefined)) {
    throw new UsageError(values.endpoint === undefined ? '--model needs --endpoint' : '--endpoint needs --model NAME');
  }
  if (values.input !== undefined && (values.docs !== undefined || values.seed !== undefined)) {
    throw new UsageError('--docs and --seed describe the generated corpus; leave them out with --input');
  }
  if (values.endpoint !== undefined) checkUrl(values.endpoint);
  if (values.model?.trim() === '') throw new UsageError('--model needs the name of a model');
  // resolve('') is the working directory, whose part files a run would remove.
  if (values.out?.trim() === '') throw new UsageError('--out needs a directory');
  return {
    docs: integerOption('--docs', values.docs, 5000, 2, 1_000_000),
    seed: integerOption('--seed', values.seed, 7, 0, 2 ** 32 - 1),
    input: values.input === undefined ? undefined : resolve(cwd, values.input),
    // By default next to the job, in its gitignored out/, wherever it is run from.
    out: values.out === undefined ? fileURLToPath(new URL('../out/', import.meta.url)) : resolve(cwd, values.out),
    threshold: numberOption('--threshold', values.threshold, 0.8, -1, 1),
    batchSize: integerOption('--batch-size', values['batch-size'], 64, 1, 4096),
    parallelism: integerOption('--parallelism', values.parallelism, availableParallelism(), 1, 128),
    dedupe: values['no-dedupe'] !== true,
    endpoint: values.endpoint,
    model: values.model,
    quiet: values.quiet === true,
    ui: values.ui === true,
  };
}

function integerOption(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got '${text}'`);
  return value;
}

function numberOption(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  // A decimal number only: Number() also reads hex and binary ('0x1').
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

function checkUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--endpoint must be a URL such as http://localhost:11434/v1, got '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--endpoint must be an http or https URL, got '${text}'`);
}

async function checkReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch (error) {
    throw new InputError(`cannot read --input '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Whether `path` is `directory` or under it. */
function within(directory: string, path: string): boolean {
  const fromDirectory = relative(directory, path);
  return !fromDirectory.startsWith('..') && !isAbsolute(fromDirectory);
}

/** Generated corpora go to the package's `.cache/` (gitignored); the write is atomic, so concurrent runs are safe. */
async function writeCorpus(docs: readonly { id: string; text: string }[], name: string): Promise<string> {
  const directory = fileURLToPath(new URL('../.cache/', import.meta.url));
  await makeDirectory(directory);
  const path = resolve(directory, name);
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temporary, docs.map((doc) => `${JSON.stringify(doc)}\n`).join(''));
    await rename(temporary, path);
  } catch (error) {
    // A full disk: the half-written file is not left behind, and the message names the file.
    await rm(temporary, { force: true });
    throw new Error(`cannot write the generated corpus to ${path}: ${(error as Error).message}`, { cause: error });
  }
  return path;
}

/** The documents in a JSON-lines file: the lines the job reads (a `FileSource`) that its parser does not skip as blank. */
async function countDocuments(path: string): Promise<number> {
  const { isBlankLine } = await import('./nearDuplicates.js');
  const reader = new FileSource(path).createReader();
  await reader.start?.(undefined);
  let documents = 0;
  try {
    for (let lines = await reader.read(4096); lines !== null; lines = await reader.read(4096)) {
      for (const line of lines) if (!isBlankLine(line)) documents++;
    }
  } finally {
    await reader.close?.();
  }
  return documents;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node:util's parseArgs adds a second sentence of advice to its first.
  const lines = message.split('\n');
  const first = lines[0] ?? message;
  if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) return first;
  // Except the advice that says how to pass a negative number: '--threshold=-0.5'.
  const dash = lines.find((line) => line.startsWith('To specify an option argument starting with a dash'));
  const sentence = first.split('. ')[0]!.replace(/\.$/, '');
  return dash === undefined ? sentence : `${sentence}; ${dash.charAt(0).toLowerCase()}${dash.slice(1).replace(/\.$/, '')}`;
}
