import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE, runCli } from '../src/cli.js';
import { generateCorpus, REPOST_SHARE } from '../src/corpus.js';

function io(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { isTTY, write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {} },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embed-documents-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the embed-documents command line', () => {
  it('prints the usage for --help and -h, and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = io();
      expect(await runCli([flag], run.io)).toBe(0);
      expect(run.stdout()).toBe(USAGE);
      expect(run.stderr()).toBe('');
    }
    for (const flag of ['--docs', '--input', '--out', '--threshold', '--batch-size', '--parallelism', '--no-dedupe', '--endpoint', '--model', '--quiet', '--ui']) expect(USAGE).toContain(flag);
  });

  it.each([
    [['--bogus'], "embed-documents: Unknown option '--bogus' (see --help)\n"],
    [['--docs'], "embed-documents: Option '--docs <value>' argument missing (see --help)\n"],
    [['extra'], "embed-documents: Unexpected argument 'extra' (see --help)\n"],
    [['--docs', 'many'], "embed-documents: --docs must be an integer from 2 to 1000000, got 'many' (see --help)\n"],
    [['--docs', '1.5'], "embed-documents: --docs must be an integer from 2 to 1000000, got '1.5' (see --help)\n"],
    [['--threshold', '2'], "embed-documents: --threshold must be a number from -1 to 1, got '2' (see --help)\n"],
    [['--threshold', '0x1'], "embed-documents: --threshold must be a number from -1 to 1, got '0x1' (see --help)\n"],
    [
      ['--threshold', '-0.5'],
      "embed-documents: Option '--threshold' argument is ambiguous; to specify an option argument starting with a dash use '--threshold=-XYZ' (see --help)\n",
    ],
    [['--batch-size', '0'], "embed-documents: --batch-size must be an integer from 1 to 4096, got '0' (see --help)\n"],
    [['--parallelism', '0'], "embed-documents: --parallelism must be an integer from 1 to 128, got '0' (see --help)\n"],
    [['--endpoint', 'http://localhost:11434/v1'], 'embed-documents: --endpoint needs --model NAME (see --help)\n'],
    [['--model', 'nomic-embed-text'], 'embed-documents: --model needs --endpoint (see --help)\n'],
    [['--endpoint', 'localhost:11434', '--model', 'm'], "embed-documents: --endpoint must be an http or https URL, got 'localhost:11434' (see --help)\n"],
    [['--endpoint', 'not a url', '--model', 'm'], "embed-documents: --endpoint must be a URL such as http://localhost:11434/v1, got 'not a url' (see --help)\n"],
    [['--input', 'x.jsonl', '--docs', '10'], 'embed-documents: --docs and --seed describe the generated corpus; leave them out with --input (see --help)\n'],
    // It would be the working directory, whose part files the run removes.
    [['--out', ''], 'embed-documents: --out needs a directory (see --help)\n'],
    [['--endpoint', 'http://localhost:11434/v1', '--model', ' '], 'embed-documents: --model needs the name of a model (see --help)\n'],
  ])('rejects %j with one line on stderr and exit code 2', async (argv, message) => {
    const run = io();
    expect(await runCli(argv, run.io)).toBe(2);
    expect(run.stderr()).toBe(message);
    expect(run.stdout()).toBe('');
  });

  it('rejects an input it cannot read with one line and exit code 2', async () => {
    const missing = join(dir, 'missing.jsonl');
    const run = io();
    expect(await runCli(['--input', missing], run.io)).toBe(2);
    expect(run.stderr()).toBe(`embed-documents: cannot read --input '${missing}': ENOENT\n`);
    const directory = io();
    expect(await runCli(['--input', dir], directory.io)).toBe(2);
    expect(directory.stderr()).toBe(`embed-documents: cannot read --input '${dir}': not a file\n`);
  });

  it('reads relative paths from where the command was run (INIT_CWD under pnpm, or the shell\'s PWD below it)', async () => {
    const run = io();
    expect(await runCli(['--input', 'missing.jsonl'], { ...run.io, env: { INIT_CWD: dir } })).toBe(2);
    expect(run.stderr()).toBe(`embed-documents: cannot read --input '${join(dir, 'missing.jsonl')}': ENOENT\n`);
    // pnpm started in a directory of the workspace without a package.json (docs/) names the workspace root instead.
    const below = io();
    expect(await runCli(['--input', 'missing.jsonl'], { ...below.io, env: { INIT_CWD: '/', PWD: dir } })).toBe(2);
    expect(below.stderr()).toBe(`embed-documents: cannot read --input '${join(dir, 'missing.jsonl')}': ENOENT\n`);
  });

  it('refuses an --input inside --out, whose files a run removes, and leaves it there', async () => {
    const out = join(dir, 'taken-out');
    await mkdir(out, { recursive: true });
    const input = join(out, 'part-1.jsonl');
    await writeFile(input, '{"id": "a", "text": "one"}\n');
    const run = io();
    expect(await runCli(['--input', input, '--out', out, '--quiet'], run.io)).toBe(2);
    expect(run.stderr()).toBe(`embed-documents: --input '${input}' is inside --out '${out}', whose files each run replaces; keep the input elsewhere (see --help)\n`);
    expect(await readFile(input, 'utf8')).toBe('{"id": "a", "text": "one"}\n');
  });

  it('reports a job failure (a bad input line) in one line, with the line number, and exit code 1; blank lines are skipped', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"id": "a", "text": "one"}\n\n   \nnot json\n');
    const run = io();
    expect(await runCli(['--input', bad, '--out', join(dir, 'bad-out'), '--quiet'], run.io)).toBe(1);
    expect(run.stderr()).toBe("embed-documents: Job 'embed-documents' failed in operator 'parse': line 4: not a JSON line: not json\n");
  });

  // Node's recursive mkdir spins there forever; Linux only, CI's platform.
  it.runIf(process.platform === 'linux')('reports an --out directory it cannot create (under /proc) in one line and exit code 1, where it hung', async () => {
    const input = join(dir, 'one.jsonl');
    await writeFile(input, '{"id": "a", "text": "one"}\n');
    const run = io();
    expect(await runCli(['--input', input, '--out', '/proc/tributary-out', '--quiet'], run.io)).toBe(1);
    expect(run.stderr()).toBe("embed-documents: ENOENT: no such file or directory, mkdir '/proc/tributary-out'\n");
  });

  it('reads a file with a byte order mark and blank lines, and counts only its documents', async () => {
    const input = join(dir, 'bom.jsonl');
    // Lines of white space the parser skips count as no document: a no-break space, a form feed.
    await writeFile(input, '\uFEFF{"id": "a", "text": "the same words"}\n\n  \r\n\u00A0\n\f\n{"id": "b", "text": "the same words"}\n\n');
    const run = io();
    expect(await runCli(['--input', input, '--out', join(dir, 'bom-out'), '--quiet'], run.io)).toBe(0);
    expect(run.stdout()).toContain('Near-duplicates among 2 documents');
    expect(run.stdout()).toContain('pairs found  1,');
  });

  it('runs the job on a generated corpus and reports recall, throughput and batches', async () => {
    const out = join(dir, 'out');
    const run = io();
    expect(await runCli(['--docs', '300', '--out', out, '--quiet'], run.io)).toBe(0);
    const report = run.stdout();
    const planted = /(\d+) planted near-duplicate pairs/.exec(report)?.[1];
    expect(Number(planted)).toBeGreaterThan(10);
    expect(report).toContain(`${planted} of ${planted} planted pairs found (recall 100.0%)`);
    expect(report).toMatch(/throughput {3}300 docs in [\d.]+ s: [\d,]+ docs\/s/);
    expect(report).toMatch(/batches {6}\d+ calls, mean size [\d.]+; call latency p50 [\d.]+ ms, p95 [\d.]+ ms/);
    const files = await readdir(out);
    expect(files).toEqual([expect.stringMatching(/^part-0-[0-9a-f]{8}\.jsonl$/)]);
    const file = join(out, files[0] as string);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(report).toContain(`pairs found  ${lines.length}, written to ${file}\n`);
    expect(run.stderr()).toBe('');
  });

  it('embeds each distinct text once, and every document with --no-dedupe, finding the same pairs', async () => {
    const reposts = generateCorpus({ docs: 300, repostShare: REPOST_SHARE }).planted.filter((p) => p.edit === 'repost').length;
    expect(reposts).toBeGreaterThan(10);
    const reports = [];
    for (const flags of [[], ['--no-dedupe']]) {
      const run = io();
      expect(await runCli(['--docs', '300', '--parallelism', '1', '--out', join(dir, `dedupe${flags.length}`), '--quiet', ...flags], run.io)).toBe(0);
      reports.push(run.stdout());
    }
    const [deduped, every] = reports as [string, string];
    const [, saved, embedded] = /repeats {6}(\d+) docs not embedded again \(\d+ from the cache, \d+ sharing a call\): (\d+) embedded\n/.exec(deduped) ?? [];
    expect(Number(saved) + Number(embedded)).toBe(300);
    expect(Number(saved)).toBeGreaterThan(reposts / 2);
    expect(every).toContain('repeats      every doc embedded (--no-dedupe): 300 embedded\n');
    const pairsLine = (report: string) => /pairs found {2}(\d+)/.exec(report)?.[1];
    expect(pairsLine(deduped)).toBe(pairsLine(every));
    expect(deduped).toContain(`${reposts} of them exact reposts`);
  });

  it('--ui prints the job view URL and keeps serving the finished job after the report until interrupted', async () => {
    const run = io();
    let url = '';
    let served: { status: string; operators: string[] } | undefined;
    // Stands in for Ctrl-C: reads the view the report left serving, then lets the command end.
    const untilInterrupted = async () => {
      url = /^Job view: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(run.stdout())?.[1] ?? '';
      expect(run.stdout()).toContain(`The job view keeps serving the final state at ${url}; press Ctrl-C to stop.\n`);
      const job = (await (await fetch(new URL('api/job', url))).json()) as { status: string; graph: { operators: { name: string }[] } };
      served = { status: job.status, operators: job.graph.operators.map((o) => o.name) };
    };
    expect(await runCli(['--docs', '100', '--out', join(dir, 'ui'), '--quiet', '--ui'], { ...run.io, untilInterrupted })).toBe(0);
    expect(served).toEqual({ status: 'finished', operators: ['documents', 'parse', 'embed', 'lsh buckets', 'compare in bucket', 'pairs file'] });
    await expect(fetch(new URL('api/job', url))).rejects.toThrow();
    expect(run.stdout()).toContain('recall');
  });

  it('prints plain progress lines when stdout is not a terminal', async () => {
    const run = io(false);
    expect(await runCli(['--docs', '200', '--out', join(dir, 'progress')], run.io)).toBe(0);
    // The job may finish before the first tick: then the report is all there is.
    const progress = run.stdout().split('\n').filter((l) => l.startsWith('['));
    for (const line of progress) expect(line).toMatch(/^\[\d+\.\d+s\] embedded [\d,]+\/200 docs \| [\d,]+ docs\/s \| mean batch [\d.]+ \| in flight \d+ \| p95 call [\d.]+ ms$/);
    expect(run.stdout()).not.toContain('\r');
  });
});

describe('the built command (spawned)', () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  /** Slots and session workers are threads: they need the TypeScript loader too. */
  const tsxWorkers = fileURLToPath(new URL('../../../tsx-workers.mjs', import.meta.url));
  function spawnCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--conditions=@tributary/source', '--import', 'tsx', main, ...args], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('cancels the job on SIGINT, says so, unlocks its output directory, and exits 130', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, ['--conditions=@tributary/source', '--import', 'tsx', '--import', tsxWorkers, main, '--docs', '20000', '--out', out, '--parallelism', '1'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Once the job runs (the progress line counts embedded documents), interrupt it.
    await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => /embedded [1-9]/.test(b.toString()) && resolve()));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toBe(`embed-documents: SIGINT: cancelling the job; ${out} holds part of its output\n`);
    // No lock is left: the next run into the directory is not refused.
    expect((await readdir(out)).filter((name) => name.includes('lock'))).toEqual([]);
  });

  it('exits 2 with a single line and no stack trace on a bad flag', async () => {
    const { code, stdout, stderr } = await spawnCli(['--threshold', 'high']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe("embed-documents: --threshold must be a number from -1 to 1, got 'high' (see --help)\n");
  });
});
