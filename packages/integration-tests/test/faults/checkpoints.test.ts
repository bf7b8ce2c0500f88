import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileCheckpointStorage,
  FileSink,
  InvalidJobError,
  ListStateDescriptor,
  ManualClock,
  RestartStrategies,
  StreamExecutionEnvironment,
  type ListState,
  type MapFunction,
  type RuntimeContext,
  type Source,
} from '@tributary/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The gated source and the I/O wait the core fault tests use.
import { gatedSource, until } from '../../../core/test/support/gatedSource.js';

/**
 * Checkpoint storage under real faults: a disk that fills up mid-write (a
 * 100 KB tmpfs), damaged checkpoint files, temp files of killed writers.
 * Figures reported in docs/fault-tolerance.md ("Checkpoint storage") come
 * from this file.
 */

const KEYS = 4;
/** Each record carries this much text, all of it kept in keyed state: checkpoints grow by ~1 KB a record. */
const PAYLOAD = 'x'.repeat(1000);

/** Keeps every record of its key in list state and emits the record with how many its key has seen. */
class KeepAll implements MapFunction<number, [number, number]> {
  private seen!: ListState<string>;
  open(ctx: RuntimeContext) {
    this.seen = ctx.getListState(new ListStateDescriptor<string>('seen'));
  }
  map(n: number): [number, number] {
    this.seen.add(`${n}:${PAYLOAD}`);
    return [n, [...this.seen.get()].length];
  }
}

function buildJob(env: StreamExecutionEnvironment, source: Source<number, number>, out: string) {
  env
    .fromSource(source, 'numbers')
    .uid('numbers')
    .keyBy((n) => n % KEYS)
    .map(new KeepAll())
    .uid('keep')
    .sinkTo(FileSink.jsonLines<[number, number]>(out))
    .uid('out');
}

/** Committed output (hidden in-progress files are not output). */
function committed(dir: string): [number, number][] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as [number, number]);
}

/** Every input once, each with its key's running count: nothing lost, nothing duplicated, state intact. */
function expectExactlyOnce(records: [number, number][], total: number) {
  expect(records.map(([n]) => n).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  for (const [n, count] of records) expect(count).toBe(Math.floor(n / KEYS) + 1);
}

const completedCheckpoints = (env: StreamExecutionEnvironment, job: string) =>
  (env.metrics.snapshot()[`job.${job}.checkpoints.numCompletedCheckpoints`] as number | undefined) ?? 0;

describe('checkpoint storage on a disk that fills up', () => {
  const disk = mkdtempSync(join(tmpdir(), 'full-disk-'));

  beforeAll(() => {
    // Root can mount (here and in CI); if it cannot, the test fails rather than skips.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=100k,mode=0755', 'tmpfs', disk]);
  });
  afterAll(() => {
    // Lazy: a job left running by a failed test must not turn that failure into a busy-mount error.
    execFileSync('umount', ['--lazy', disk]);
    rmSync(disk, { recursive: true, force: true });
  });

  it('fails the checkpoint that does not fit, publishes no torn file, and a restore loses nothing', async () => {
    const storage = join(disk, 'checkpoints');
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(200);
    buildJob(env, gate.source, out);
    const job = env.executeAsync('full disk');
    const settled = job.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    // Checkpoints of ~20, ~40, ~60 KB ...: the third one runs out of the 100 KB mid-write.
    for (let step = 1; job.status === 'running'; step++) {
      gate.openUntil(step * 20);
      await until(() => env.metrics.snapshot()['job.full disk.operator.numbers.0.numRecordsOut'] === step * 20, `record ${step * 20}`);
      await clock.advance(10);
      await until(() => completedCheckpoints(env, 'full disk') === step || job.status !== 'running', `checkpoint ${step}`);
    }
    const error = await settled;
    expect(job.status).toBe('failed');
    expect((error as Error).message).toMatch(
      /^Job 'full disk' failed: checkpoint 3 of job 'full disk' could not be stored: writing .*chk-0000000003\.ckpt\.tmp-\d+ failed: ENOSPC/,
    );

    // Only whole checkpoints were published, each verified on load; the torn temp file is gone.
    expect(readdirSync(storage).sort()).toEqual(['chk-0000000001.ckpt', 'chk-0000000002.ckpt']);
    const reader = new FileCheckpointStorage(storage);
    for (const name of readdirSync(storage)) await reader.load(join(storage, name));
    // Only what checkpoint 2 covered (the first 40 records) was committed.
    expectExactlyOnce(committed(out), 40);

    // Moved to a disk with room, the job resumes from checkpoint 2: every record exactly once.
    const roomy = mkdtempSync(join(tmpdir(), 'ckpt-'));
    cpSync(storage, roomy, { recursive: true });
    const env2 = StreamExecutionEnvironment.create().enableCheckpointing(1000, { storage: roomy });
    const gate2 = gatedSource(200);
    gate2.openUntil(200);
    buildJob(env2, gate2.source, out);
    const result = await env2.execute('full disk', { restoreFrom: 'latest' });
    expect(result.restoredFrom).toBe(join(roomy, 'chk-0000000002.ckpt'));
    expectExactlyOnce(committed(out), 200);
    rmSync(storage, { recursive: true });
  });

  it('with a restart strategy, restarts from the last whole checkpoint, then gives up naming the checkpoint', async () => {
    const storage = join(disk, 'restarting');
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(2, 10) });
    env.enableCheckpointing(10, { storage });
    // Its input does not end at 200: a final checkpoint would hold no keyed state (the operator ended), and fit.
    const gate = gatedSource(1_000);
    buildJob(env, gate.source, out);
    const job = env.executeAsync('restarting');
    const settled = job.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    // Every attempt fills the disk sooner or later: 200 records of state (~200 KB) never fit in 100 KB.
    const giveUpAt = performance.now() + 60_000;
    for (let step = 1; job.status === 'running'; step++) {
      if (performance.now() > giveUpAt) throw new Error('the job did not settle');
      gate.openUntil(Math.min(step * 20, 200));
      await clock.advance(10);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const error = await settled;
    expect(job.status).toBe('failed');
    expect((error as Error).message).toMatch(
      /^Job 'restarting' failed after 2 restarts: checkpoint \d+ of job 'restarting' could not be stored: writing .*\.ckpt\.tmp-\d+ failed: ENOSPC/,
    );
    const names = readdirSync(storage);
    expect(names.every((n) => /^chk-\d{10}\.ckpt$/.test(n))).toBe(true);
    const reader = new FileCheckpointStorage(storage);
    for (const name of names) await reader.load(join(storage, name));
    // What was committed is a consistent prefix: no record twice, every count right.
    const before = committed(out);
    expect(new Set(before.map(([n]) => n)).size).toBe(before.length);
    for (const [n, count] of before) expect(count).toBe(Math.floor(n / KEYS) + 1);

    const roomy = mkdtempSync(join(tmpdir(), 'ckpt-'));
    cpSync(storage, roomy, { recursive: true });
    const env2 = StreamExecutionEnvironment.create().enableCheckpointing(1000, { storage: roomy });
    const gate2 = gatedSource(200);
    gate2.openUntil(200);
    buildJob(env2, gate2.source, out);
    await env2.execute('restarting', { restoreFrom: 'latest' });
    expectExactlyOnce(committed(out), 200);
    rmSync(storage, { recursive: true });
  });
});

describe('checkpoint files', () => {
  it('creates checkpoint files 0600 in a 0700 directory', async () => {
    const storage = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'private');
    const env = StreamExecutionEnvironment.create().enableCheckpointing(1000, { storage });
    env.fromElements(1, 2, 3).sinkTo(FileSink.jsonLines<number>(mkdtempSync(join(tmpdir(), 'out-'))));
    await env.execute('private');
    expect(statSync(storage).mode & 0o777).toBe(0o700);
    const files = readdirSync(storage);
    expect(files).toEqual(['chk-0000000001.ckpt']);
    expect(statSync(join(storage, files[0] as string)).mode & 0o777).toBe(0o600);
  });
});

describe('checkpoint storage with damaged files', () => {
  /** A directory where a job stored checkpoints 1 (periodic) and 2 (final) of 60 records. */
  async function storedRun(): Promise<{ storage: string; out: string }> {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(60);
    buildJob(env, gate.source, out);
    const job = env.executeAsync('damaged');
    gate.openUntil(30);
    // The barrier goes in once the source has read all 30 and waits: checkpoint 1 covers exactly them.
    await until(() => env.metrics.snapshot()['job.damaged.operator.numbers.0.numRecordsOut'] === 30, 'the first 30 records');
    await clock.advance(10);
    await until(() => completedCheckpoints(env, 'damaged') === 1, 'checkpoint 1');
    gate.openUntil(60);
    await job.result;
    expect(readdirSync(storage).sort()).toEqual(['chk-0000000001.ckpt', 'chk-0000000002.ckpt']);
    return { storage, out };
  }

  it("refuses to restore 'latest' when every checkpoint is truncated or corrupted, naming each", async () => {
    const { storage, out } = await storedRun();
    const [first, second] = ['chk-0000000001.ckpt', 'chk-0000000002.ckpt'].map((n) => join(storage, n)) as [string, string];
    writeFileSync(first, readFileSync(first).subarray(0, 30));
    const bytes = readFileSync(second);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(second, bytes);

    const env = StreamExecutionEnvironment.create().enableCheckpointing(1000, { storage });
    const gate = gatedSource(60);
    gate.openUntil(60);
    buildJob(env, gate.source, out);
    const error = await env.execute('damaged', { restoreFrom: 'latest' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toBe(
      `Job 'damaged' cannot restore from latest: none of the 2 checkpoints in ${storage} is intact: ` +
        `checkpoint ${second} is corrupted (checksum mismatch); checkpoint ${first} is not a Tributary checkpoint or is truncated; ` +
        'to start from scratch instead, run without restoreFrom',
    );
    // Nothing was written again.
    expectExactlyOnce(committed(out), 60);
  });

  it('falls back past a damaged newest checkpoint to the newest intact one, with a warning naming it', async () => {
    const { storage, out } = await storedRun();
    const newest = join(storage, 'chk-0000000002.ckpt');
    writeFileSync(newest, readFileSync(newest).subarray(0, 100));
    const warnings: string[] = [];
    const env = StreamExecutionEnvironment.create().enableCheckpointing(1000, {
      storage: new FileCheckpointStorage(storage, { onWarning: (m) => warnings.push(m) }),
    });
    const gate = gatedSource(60);
    gate.openUntil(60);
    buildJob(env, gate.source, out);
    const result = await env.execute('damaged', { restoreFrom: 'latest' });
    expect(result.restoredFrom).toBe(join(storage, 'chk-0000000001.ckpt'));
    expect(warnings).toEqual([`Skipping damaged checkpoint: checkpoint ${newest} is corrupted (checksum mismatch)`]);
    // Records 30-59 were committed by checkpoint 2 and are written again: at-least-once here, never a loss.
    const records = committed(out).map(([n]) => n);
    expect(new Set(records).size).toBe(60);
    expect(records.length).toBe(90);
  });

  it('removes temp files left by killed writers when the job starts', async () => {
    const { storage, out } = await storedRun();
    const killed = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = ['chk-0000000003.ckpt.tmp-' + killed, 'chk-0000000004.ckpt.tmp-' + killed];
    for (const name of stale) writeFileSync(join(storage, name), 'half a checkpoint');
    mkdirSync(join(storage, 'unrelated'));

    const env = StreamExecutionEnvironment.create().enableCheckpointing(1000, { storage });
    const gate = gatedSource(60);
    gate.openUntil(60);
    buildJob(env, gate.source, out);
    await env.execute('damaged', { restoreFrom: 'latest' });
    expect(readdirSync(storage).sort()).toEqual(['chk-0000000001.ckpt', 'chk-0000000002.ckpt', 'chk-0000000003.ckpt', 'unrelated']);
    expectExactlyOnce(committed(out), 60);
  });
});
