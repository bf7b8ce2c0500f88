import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DirectoryInUseError, FileSink, LOCK_FILE, ManualClock, RestartStrategies, StreamExecutionEnvironment, type Source } from '../src/index.js';
import { exactlyOnce } from './slots/fixtures/jobs.job.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'dir-lock-'));
  return { root, storage: join(root, 'checkpoints'), out: join(root, 'out') };
}

/** A job of `source` into an exactly-once FileSink, checkpointing into `storage` every 10 ms of `clock`. */
function job(clock: ManualClock, source: Source<number>, storage: string, out: string, options: { restarts?: number; guarantee?: 'exactly-once' | 'at-least-once' } = {}) {
  const env = StreamExecutionEnvironment.create({
    runtime: 'single-thread',
    clock,
    ...(options.restarts === undefined ? {} : { restartStrategy: RestartStrategies.fixedDelay(options.restarts, 0) }),
  });
  env.enableCheckpointing(10, { storage });
  const stream = env.fromSource(source, 'numbers').uid('numbers');
  return { env, stream, sink: () => stream.sinkTo(FileSink.jsonLines<number>(out, { guarantee: options.guarantee ?? 'exactly-once' })).uid('out') };
}

/** Job 'first' of `records` gated numbers, started and past its first checkpoint (of records 0-99); its gate. */
async function firstJobCheckpointed(clock: ManualClock, records: number, storage: string, out: string, guarantee: 'exactly-once' | 'at-least-once' = 'exactly-once') {
  const gate = gatedSource(records);
  const first = job(clock, gate.source, storage, out, { guarantee });
  first.sink();
  const running = first.env.executeAsync('first');
  gate.openUntil(100);
  await clock.advance(10);
  await until(() => readdirSync(storage).some((f) => f.endsWith('.ckpt')), 'a checkpoint of the first job');
  return { running, gate };
}

/** Every file under `dir` but the lock file, with its contents: what a job wrote there. */
function contents(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name !== LOCK_FILE)
      .map((name) => [name, readFileSync(join(dir, name), 'latin1')]),
  );
}

function committed(out: string): number[] {
  return readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as number)
    .sort((a, b) => a - b);
}

const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; thread: number; processStart: number; job: string; jobId: string };

/** A pid no process has now: a child that already exited. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  return pid;
}

describe('one job at a time per directory, in this process', () => {
  it('refuses a second job on the checkpoint directory before it reads or writes anything, naming the storage, the directory and the running job', async () => {
    const { storage, out, root } = dirs();
    const clock = new ManualClock(0);
    const { running, gate } = await firstJobCheckpointed(clock, 1000, storage, out);
    const before = contents(storage);

    const second = job(clock, gatedSource(10).source, storage, join(root, 'other-out'));
    second.sink();
    const refused = second.env.execute('second', { restoreFrom: 'latest' });
    await expect(refused).rejects.toBeInstanceOf(DirectoryInUseError);
    await expect(refused).rejects.toThrow(
      `Job 'second' cannot start: the checkpoint storage FileCheckpointStorage writes '${storage}', which job 'first' (${running.jobId}) in this process is writing. ` +
        'One job at a time per directory: stop the other run, or give this job another directory.',
    );
    await expect(refused).rejects.toMatchObject({ directory: storage, pid: process.pid });
    // It wrote nothing: no checkpoint, no cleanup of the first job's files, no output directory of its own.
    expect(contents(storage)).toEqual(before);
    expect(existsSync(join(root, 'other-out'))).toBe(false);
    expect(lockOf(storage)).toMatchObject({ pid: process.pid, job: 'first', jobId: running.jobId });

    gate.openUntil(1000);
    await driveUntilDone(running.result, clock);
    expect((await running.result).status).toBe('finished');
    expect(committed(out)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it.each(['exactly-once', 'at-least-once'] as const)('refuses a second job on a FileSink directory (%s), naming the sink operator; the first one’s files stay as they were', async (guarantee) => {
    const { storage, out, root } = dirs();
    const clock = new ManualClock(0);
    const { running, gate } = await firstJobCheckpointed(clock, 500, storage, out, guarantee);
    const before = contents(out);

    const second = job(clock, gatedSource(10).source, join(root, 'other-checkpoints'), out, { guarantee });
    second.stream.sinkTo(FileSink.jsonLines<number>(out, { guarantee })).uid('out').name('Sink: numbers');
    await expect(second.env.execute('second')).rejects.toThrow(
      `Job 'second' cannot start: FileSink of operator 'Sink: numbers' (uid 'out') writes '${out}', which job 'first' (${running.jobId}) in this process is writing.`,
    );
    expect(contents(out)).toEqual(before);
    // The checkpoint directory it locked first is released, not left locked: nothing of the second job stays.
    expect(readdirSync(join(root, 'other-checkpoints'))).toEqual([]);

    gate.openUntil(500);
    await driveUntilDone(running.result, clock);
    const lines = committed(out);
    expect(new Set(lines).size).toBe(500);
    if (guarantee === 'exactly-once') expect(lines).toHaveLength(500);
  });

  it('lets sequential runs in one process each lock and release: after a finished, a failed and a cancelled run the next one starts, and no lock file stays', async () => {
    const { storage, out } = dirs();
    const clock = new ManualClock(0);
    const run = (name: string, source: Source<number>) => {
      const { env, sink } = job(clock, source, storage, out);
      sink();
      return env.executeAsync(name, { restoreFrom: 'latest' });
    };
    // Finished.
    const gate1 = gatedSource(100);
    gate1.openUntil(100);
    const first = run('first', gate1.source);
    expect(lockOf(out)).toMatchObject({ job: 'first', pid: process.pid, thread: threadId });
    await driveUntilDone(first.result, clock);
    expect((await first.result).status).toBe('finished');
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    expect(existsSync(join(storage, LOCK_FILE))).toBe(false);
    // Failed.
    const failing: Source<number> = {
      createReader: () => ({
        read: () => {
          throw new Error('source broke');
        },
        position: () => undefined,
      }),
    };
    const second = run('second', failing);
    expect(lockOf(storage)).toMatchObject({ job: 'second' });
    await expect(second.result).rejects.toThrow('source broke');
    expect(existsSync(join(storage, LOCK_FILE))).toBe(false);
    // Cancelled.
    const third = run('third', gatedSource(100).source);
    expect(lockOf(storage)).toMatchObject({ job: 'third' });
    third.cancel();
    expect((await third.result).status).toBe('cancelled');
    expect(existsSync(join(storage, LOCK_FILE))).toBe(false);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    // And one more, restoring what the first left.
    const gate4 = gatedSource(100);
    gate4.openUntil(100);
    const fourth = run('fourth', gate4.source);
    await driveUntilDone(fourth.result, clock);
    expect((await fourth.result).status).toBe('finished');
    expect(committed(out)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('keeps its lock across a restart of the job (restart strategy), and releases it when the job ends', async () => {
    const { storage, out } = dirs();
    const clock = new ManualClock(0);
    const gate = gatedSource(300);
    let failNow = false;
    const { env, stream } = job(clock, gate.source, storage, out, { restarts: 1 });
    stream
      .map((x) => {
        if (failNow && x === 150) {
          failNow = false;
          throw new Error('crash');
        }
        return x;
      })
      .uid('check')
      .sinkTo(FileSink.jsonLines<number>(out))
      .uid('out');
    const running = env.executeAsync('restarting');
    const lock = lockOf(out);
    gate.openUntil(100);
    await clock.advance(10);
    await until(() => readdirSync(storage).some((f) => f.endsWith('.ckpt')), 'a checkpoint');
    failNow = true;
    gate.openUntil(300);
    await driveUntilDone(running.result, clock);
    const result = await running.result;
    expect(result.restarts).toBe(1);
    expect(committed(out)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // The same lock held the whole run.
    expect(lock).toMatchObject({ job: 'restarting', jobId: running.jobId, pid: process.pid });
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });
});

describe('one job at a time per directory, across processes (lock files)', () => {
  const run = async (storage: string, out: string) => {
    const clock = new ManualClock(0);
    const gate = gatedSource(50);
    gate.openUntil(50);
    const { env, sink } = job(clock, gate.source, storage, out);
    sink();
    const client = env.executeAsync('restarted', { restoreFrom: 'latest' });
    await driveUntilDone(client.result, clock);
    return client.result;
  };
  const holder = (pid: number, fields: Record<string, unknown> = {}) =>
    JSON.stringify({ pid, thread: 0, processStart: 0, job: 'crashed', jobId: 'c0ffee', since: '2025-01-01T00:00:00.000Z', ...fields });

  it('refuses to start while the lock file names a live other process, naming its pid and what to do; writes nothing', async () => {
    const { storage, out } = dirs();
    mkdirSync(storage);
    writeFileSync(join(storage, LOCK_FILE), holder(process.ppid));
    const refused = run(storage, out);
    await expect(refused).rejects.toThrow(
      `Job 'restarted' cannot start: the checkpoint storage FileCheckpointStorage writes '${storage}', which job 'crashed' (c0ffee) in process ${process.ppid} has been writing since 2025-01-01T00:00:00.000Z (lock file '${join(storage, LOCK_FILE)}'). ` +
        'One job at a time per directory: stop the other run, or give this job another directory.',
    );
    await expect(refused).rejects.toMatchObject({ name: 'DirectoryInUseError', pid: process.ppid });
    expect(readdirSync(storage)).toEqual([LOCK_FILE]);
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(join(storage, LOCK_FILE), 'utf8')).toBe(holder(process.ppid));
  });

  it('takes over a lock file left by a process that is gone (killed), and one of an earlier process with this pid', async () => {
    const { storage, out } = dirs();
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, LOCK_FILE), holder(deadPid()));
    expect((await run(storage, out)).status).toBe('finished');
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);

    // This pid, another thread, a process that started an hour before this one: an earlier life of the pid.
    writeFileSync(join(out, LOCK_FILE), holder(process.pid, { thread: threadId + 1, processStart: Date.now() - process.uptime() * 1000 - 3_600_000 }));
    expect((await run(storage, out)).status).toBe('finished');
    // This pid and thread, a job that is not running: this process's own leftover.
    writeFileSync(join(out, LOCK_FILE), holder(process.pid, { thread: threadId }));
    expect((await run(storage, out)).status).toBe('finished');
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  });

  it('refuses a lock file of another thread of this process, and one that names no process yet unless it is old', async () => {
    const { storage, out } = dirs();
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, LOCK_FILE), holder(process.pid, { thread: threadId + 1, processStart: Date.now() - process.uptime() * 1000 }));
    await expect(run(storage, out)).rejects.toThrow(`in another thread of this process (pid ${process.pid})`);

    writeFileSync(join(out, LOCK_FILE), '');
    await expect(run(storage, out)).rejects.toThrow(`which another process is locking (its lock file '${join(out, LOCK_FILE)}' names no process yet)`);
    // Killed before it wrote its pid: taken over once it is old.
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(join(out, LOCK_FILE), old, old);
    expect((await run(storage, out)).status).toBe('finished');
  });
});

describe('one job at a time per directory, in slots (parallelism 2)', { timeout: 60_000 }, () => {
  it('locks per job run, not per subtask: both subtasks write the output directory, a restart keeps the lock, a second job is refused', async () => {
    const { root, storage, out } = dirs();
    const args = { n: 6000, parallelism: 2, runtime: 'slots' as const, out, storage, marker: join(root, 'failed-once'), intervalMs: 5, at: 2000, restarts: 1 };
    const running = exactlyOnce.executeAsync(args, { jobName: 'in slots' });
    expect(lockOf(out)).toMatchObject({ job: 'in slots', pid: process.pid, thread: threadId });
    expect(lockOf(storage)).toMatchObject({ job: 'in slots' });
    await expect(exactlyOnce.execute({ ...args, storage: join(root, 'other') }, { jobName: 'second' })).rejects.toThrow(
      `Job 'second' cannot start: FileSink of operator 'Sink' (uid 'out') writes '${out}', which job 'in slots' (${running.jobId}) in this process is writing.`,
    );
    const result = await running.result;
    expect(result.restarts).toBe(1);
    expect(committed(out)).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    // Both subtasks wrote part files.
    expect(new Set(readdirSync(out).map((f) => /^part-(\d+)-/.exec(f)?.[1]))).toEqual(new Set(['0', '1']));
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    expect(existsSync(join(storage, LOCK_FILE))).toBe(false);
  });
});
