import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DirectoryInUseError, FileCheckpointStorage, FileSink, InvalidJobError, LOCK_FILE, ManualClock, RestartStrategies, StreamExecutionEnvironment, type CheckpointStorage, type Sink, type Source } from '../src/index.js';
import { lockFileStamp, removeStaleLockFile, takeoverClaim } from '../src/runtime/DirectoryLock.js';
import { processStartedAt } from '../src/runtime/processes.js';
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

describe('what a job may share, and how long it holds its directories', () => {
  it('refuses two FileSinks of one job on one directory, however it is spelled, naming both; a sink may share the checkpoint directory', async () => {
    const { root, storage, out } = dirs();
    mkdirSync(out, { recursive: true });
    symlinkSync(out, join(root, 'link'));
    for (const second of [out, join(root, 'link'), `${join(root, 'link')}/.`]) {
      const clock = new ManualClock(0);
      const { env, stream, sink } = job(clock, gatedSource(0).source, storage, out);
      sink();
      stream.sinkTo(FileSink.jsonLines<number>(second)).uid('again').name('again');
      const refused = env.execute('two sinks');
      await expect(refused).rejects.toBeInstanceOf(InvalidJobError);
      await expect(refused).rejects.toThrow(
        `Job 'two sinks': FileSink of operator 'Sink' (uid 'out') and FileSink of operator 'again' (uid 'again') both write '${realpathSync(out)}', and each would remove the other's files; give each its own directory`,
      );
    }
    expect(readdirSync(out)).toEqual([]);
    // The checkpoint storage and a sink name and remove different files: one directory serves both.
    const clock = new ManualClock(0);
    const gate = gatedSource(20);
    gate.openUntil(20);
    const shared = job(clock, gate.source, out, out);
    shared.sink();
    const client = shared.env.executeAsync('shared');
    await driveUntilDone(client.result, clock);
    expect((await client.result).status).toBe('finished');
    const parts = readdirSync(out).filter((f) => f.startsWith('part-'));
    expect(parts.flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== '')).map(Number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(readdirSync(out).some((f) => f.endsWith('.ckpt'))).toBe(true);
  });

  it('holds its directories after it ended while a close it gave up on is pending (it may still write there), naming it to the next job', async () => {
    const { root, storage } = dirs();
    const out = join(root, 'custom-out');
    let finishClose!: () => void;
    const closing = new Promise<void>((resolve) => (finishClose = resolve));
    // A sink that writes its own directory and whose close() hangs, as on a stalled disk.
    const stalled: Sink<number> = { exclusiveDirectory: () => ({ path: out, writer: 'StalledSink' }), createWriter: () => ({ write: () => undefined, close: () => closing }) };
    const clock = new ManualClock(0);
    const gate = gatedSource(10);
    const first = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, closeTimeoutMs: 100 }).enableCheckpointing(10, { storage });
    first.fromSource(gate.source, 'numbers').sinkTo(stalled).name('stalled');
    const running = first.executeAsync('first');
    gate.openUntil(5);
    await until(() => existsSync(join(out, LOCK_FILE)), 'the lock');
    running.cancel();
    await driveUntilDone(running.result, clock);
    expect((await running.result).unfinishedCloses).toEqual([{ operator: "'stalled'", task: expect.any(String) as string }]);
    expect(existsSync(join(out, LOCK_FILE))).toBe(true);

    const second = () => {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0) });
      env.fromElements(1).sinkTo(FileSink.jsonLines<number>(out));
      return env.execute('second');
    };
    await expect(second()).rejects.toThrow(
      `which job 'first' (${running.jobId}) in this process ended, but its abandoned close() of 'stalled' has not settled and may still write there`,
    );
    finishClose();
    await until(() => !existsSync(join(out, LOCK_FILE)), 'the lock released once the close settled');
    expect((await second()).status).toBe('finished');
  });

  it('holds the checkpoint directory after it ended while a store it gave up on is pending, and releases it once the store settles', async () => {
    const { storage } = dirs();
    const files = new FileCheckpointStorage(storage);
    let finishStore!: () => void;
    const stalled = new Promise<void>((resolve) => (finishStore = resolve));
    let storing = false;
    // The storage's first store() stalls, as on a stalled disk, then writes its file.
    const stalling: CheckpointStorage = {
      exclusiveDirectory: () => files.exclusiveDirectory(),
      store: async (checkpoint) => {
        storing = true;
        await stalled;
        return files.store(checkpoint);
      },
      highestCheckpointId: () => files.highestCheckpointId(),
      loadLatest: () => files.loadLatest(),
      load: (location) => files.load(location),
    };
    const clock = new ManualClock(0);
    const gate = gatedSource(100);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, closeTimeoutMs: 100 }).enableCheckpointing(10, { storage: stalling });
    // A sink without I/O: a FileSink's close (an fsync) could outlast closeTimeoutMs on a loaded machine, and be abandoned too.
    env.fromSource(gate.source, 'numbers').addSink(() => undefined);
    const running = env.executeAsync('first');
    gate.openUntil(10);
    await clock.advance(10);
    await until(() => storing, 'checkpoint 1 being stored');
    running.cancel();
    await driveUntilDone(running.result, clock);
    expect((await running.result).status).toBe('cancelled');
    const second = () => {
      const next = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0) }).enableCheckpointing(10, { storage });
      next.fromElements(1).sinkTo(FileSink.jsonLines<number>(join(storage, '..', 'other-out')));
      return next.execute('second');
    };
    await expect(second()).rejects.toThrow(
      `which job 'first' (${running.jobId}) in this process ended, but its abandoned store() of checkpoint 1 of the checkpoint storage has not settled and may still write there`,
    );
    finishStore();
    await until(() => !existsSync(join(storage, LOCK_FILE)), 'the lock released once the store settled');
    expect((await second()).status).toBe('finished');
  });

  it('locks a directory that took no lock file at the start before a restart writes it, and fails the job if another job holds it by then', async () => {
    const { root, storage } = dirs();
    // At the start the sink's directory cannot be created (a file is where its parent should be): no lock, and the
    // sink fails; before the restart, the directory exists and another process's job holds it.
    const parent = join(root, 'not-yet');
    writeFileSync(parent, '');
    const out = join(parent, 'out');
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, restartStrategy: RestartStrategies.fixedDelay(1, 1_000) });
    env.enableCheckpointing(10, { storage });
    env.fromElements(1, 2, 3).sinkTo(FileSink.jsonLines<number>(out)).name('files');
    const client = env.executeAsync('late directory');
    let restarting = false;
    client.onEvent((event) => void (event.fields.event === 'job.restarting' && (restarting = true)));
    await until(() => restarting, 'the first attempt failed');
    rmSync(parent);
    mkdirSync(out, { recursive: true });
    const other = JSON.stringify({ pid: process.ppid, thread: 0, processStart: processStartedAt(process.ppid), job: 'other', jobId: 'beef', since: '2026-01-01T00:00:00.000Z' });
    writeFileSync(join(out, LOCK_FILE), other);
    await driveUntilDone(client.result, clock).catch(() => undefined);
    await expect(client.result).rejects.toBeInstanceOf(DirectoryInUseError);
    await expect(client.result).rejects.toThrow(`which job 'other' (beef) in process ${process.ppid} has been writing since`);
    expect(readdirSync(out)).toEqual([LOCK_FILE]);
    expect(readFileSync(join(out, LOCK_FILE), 'utf8')).toBe(other);
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
    const lock = holder(process.ppid, { processStart: processStartedAt(process.ppid) });
    writeFileSync(join(storage, LOCK_FILE), lock);
    const refused = run(storage, out);
    await expect(refused).rejects.toThrow(
      `Job 'restarted' cannot start: the checkpoint storage FileCheckpointStorage writes '${storage}', which job 'crashed' (c0ffee) in process ${process.ppid} has been writing since 2025-01-01T00:00:00.000Z (lock file '${join(storage, LOCK_FILE)}'; if no such job runs, delete it). ` +
        'One job at a time per directory: stop the other run, or give this job another directory.',
    );
    await expect(refused).rejects.toMatchObject({ name: 'DirectoryInUseError', pid: process.ppid });
    expect(readdirSync(storage)).toEqual([LOCK_FILE]);
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(join(storage, LOCK_FILE), 'utf8')).toBe(lock);
  });

  it('takes over a lock file whose pid a live process has that started after the holder (the pid was reused, as after a reboot), and one naming pid 0', async () => {
    const { storage, out } = dirs();
    mkdirSync(storage);
    const started = processStartedAt(process.ppid);
    expect(started).toBeGreaterThan(0);
    // The parent process is alive, but started an hour after the job the lock file names.
    writeFileSync(join(storage, LOCK_FILE), holder(process.ppid, { processStart: (started as number) - 3_600_000 }));
    expect((await run(storage, out)).status).toBe('finished');
    expect(existsSync(join(storage, LOCK_FILE))).toBe(false);
    // process.kill(0, 0) signals this process group: the file names no one, and an old one is taken over.
    writeFileSync(join(storage, LOCK_FILE), holder(0));
    utimesSync(join(storage, LOCK_FILE), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await run(storage, out)).status).toBe('finished');
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

  it('removes a stale lock file only while it is still that file: a process that judged it stale after another took it over leaves the new lock', () => {
    const { out } = dirs();
    mkdirSync(out, { recursive: true });
    const lockFile = join(out, LOCK_FILE);
    writeFileSync(lockFile, holder(deadPid()));
    const stale = lockFileStamp(lockFile) as string;
    const taker = JSON.parse(holder(process.pid, { thread: threadId, processStart: 0 })) as Parameters<typeof removeStaleLockFile>[2];
    // Two processes judged it stale. The first removes it and locks (its new file may get the removed one's inode).
    expect(removeStaleLockFile(lockFile, stale, taker)).toBe('removed');
    const taken = holder(process.ppid, { processStart: processStartedAt(process.ppid), job: 'first' });
    writeFileSync(lockFile, taken);
    // The second removes nothing: the file there is no longer the one it judged.
    expect(removeStaleLockFile(lockFile, stale, taker)).toBe('replaced');
    expect(readdirSync(out)).toEqual([LOCK_FILE]);
    expect(readFileSync(lockFile, 'utf8')).toBe(taken);
  });

  it('refuses to start while a live process is taking over a stale lock file, however long it takes; passes over the claim of a taker that died', async () => {
    const { storage, out } = dirs();
    mkdirSync(out, { recursive: true });
    const lockFile = join(out, LOCK_FILE);
    writeFileSync(lockFile, holder(deadPid()));
    const stale = lockFileStamp(lockFile) as string;
    const claim = (number: number) => takeoverClaim(lockFile, stale, number);
    // A live taker (the parent process) paused in its takeover for a minute: its claim is old, and still its.
    writeFileSync(claim(0), holder(process.ppid, { processStart: processStartedAt(process.ppid), job: 'paused' }));
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(claim(0), old, old);
    await expect(run(storage, out)).rejects.toThrow(`which job 'paused' (c0ffee) in process ${process.ppid} is taking over its stale lock file '${lockFile}' (claim '${claim(0)}')`);
    // A claim still being written (naming no one yet) is a live taker's too, while it is young.
    writeFileSync(claim(0), '');
    await expect(run(storage, out)).rejects.toThrow(`another process is taking over its stale lock file '${lockFile}' (its claim '${claim(0)}' names no process yet)`);
    expect(existsSync(lockFile)).toBe(true);
    // Killed during its takeover: its claim stays, passed over for the next number, which the new taker removes again.
    const dead = holder(deadPid(), { job: 'killed' });
    writeFileSync(claim(0), dead);
    expect((await run(storage, out)).status).toBe('finished');
    expect(readdirSync(out).filter((name) => name.startsWith('.tributary'))).toEqual([claim(0).slice(out.length + 1)]);
    expect(readFileSync(claim(0), 'utf8')).toBe(dead);
  });

  it('refuses a lock file of another live thread of this process, and one that names no process yet unless it is old', async () => {
    const { storage, out } = dirs();
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, LOCK_FILE), holder(process.pid, { thread: threadId + 1, processStart: Date.now() - process.uptime() * 1000 }));
    await expect(run(storage, out)).rejects.toThrow(`in another thread of this process (pid ${process.pid})`);
    // A worker thread that names its OS thread: refused while it runs, taken over once it was terminated.
    const worker = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:fs').readlinkSync('/proc/thread-self')); setInterval(() => {}, 1000);", { eval: true });
    const tid = Number((await new Promise<string>((resolve) => worker.once('message', resolve))).split('/').pop());
    writeFileSync(join(out, LOCK_FILE), holder(process.pid, { thread: worker.threadId, tid, processStart: Date.now() - process.uptime() * 1000 }));
    await expect(run(storage, out)).rejects.toThrow(`in another thread of this process (pid ${process.pid})`);
    await worker.terminate();
    expect((await run(storage, out)).status).toBe('finished');
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);

    writeFileSync(join(out, LOCK_FILE), '');
    await expect(run(storage, out)).rejects.toThrow(`which another process is locking (its lock file '${join(out, LOCK_FILE)}' names no process yet)`);
    // Killed before it wrote its pid: taken over once it is old.
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(join(out, LOCK_FILE), old, old);
    expect((await run(storage, out)).status).toBe('finished');
    // One whose time is an hour ahead (a clock set wrong when it was written) is as far from now.
    writeFileSync(join(out, LOCK_FILE), 'garbage');
    const ahead = (Date.now() + 3_600_000) / 1000;
    utimesSync(join(out, LOCK_FILE), ahead, ahead);
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
