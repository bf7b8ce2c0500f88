import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { readOutput, startCrashJob, writeEvents } from './crash/harness.js';

/**
 * One job at a time per directory, across processes: the crash test's job
 * (FileCheckpointStorage in `<dir>/checkpoints`, exactly-once FileSink in
 * `<dir>/out`, parallelism 2) started twice on the same directories.
 */
const EVENTS = 20_000;

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dir-lock-'));
  writeEvents(dir, EVENTS);
  return dir;
}

interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

/** Runs the crash job (restoreFrom 'latest') in a child process on `dir`. */
function start(dir: string, runtime: 'single-thread' | 'slots'): Run {
  const child = startCrashJob(dir, 'exactly-once', runtime, 'pipe');
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Resolves once the run stored a checkpoint (it prints `checkpoint N`). */
async function checkpointed(run: Run): Promise<void> {
  const giveUpAt = performance.now() + 60_000;
  while (!/checkpoint \d+/.test(run.stdout())) {
    if (performance.now() > giveUpAt) throw new Error(`no checkpoint within 60 s:\n${run.stdout()}\n${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves once every thread of `pid` is stopped: SIGSTOP reaches them one by one, and a file one opens meanwhile is its run's. */
async function allThreadsStopped(pid: number): Promise<void> {
  const state = (task: string) => readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').replace(/^.*\) /, '')[0];
  const giveUpAt = performance.now() + 10_000;
  while (readdirSync(`/proc/${pid}/task`).some((task) => state(task) !== 'T' && state(task) !== 't')) {
    if (performance.now() > giveUpAt) throw new Error(`process ${pid} did not stop within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every file of the job's directories with its contents. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    ['checkpoints', 'out'].flatMap((sub) => readdirSync(join(dir, sub)).map((name) => [`${sub}/${name}`, readFileSync(join(dir, sub, name), 'latin1')])),
  );
}

function expectExactlyOnce(dir: string): void {
  const ids = readOutput(dir).map((record) => record.id);
  expect(ids).toHaveLength(EVENTS);
  expect(new Set(ids).size).toBe(EVENTS);
}

const lockPid = (dir: string) => (JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number }).pid;

describe.each(['single-thread', 'slots'] as const)('one job at a time per directory, across processes, runtime %s', (runtime) => {
  it('refuses a second process on the same directories while the first runs: it names the directory and the first pid, and writes nothing', async () => {
    const dir = workDir();
    const first = start(dir, runtime);
    await checkpointed(first);
    // Stopped, the first run writes nothing meanwhile: any change to the directories would be the second's.
    first.child.kill('SIGSTOP');
    await allThreadsStopped(first.child.pid!);
    const before = snapshot(dir);
    const second = start(dir, runtime);
    const code = await second.exit;
    expect(code).not.toBe(0);
    expect(second.stdout()).not.toMatch(/checkpoint \d+/);
    expect(second.stderr()).toContain("DirectoryInUseError: Job 'crash test' cannot start: ");
    expect(second.stderr()).toMatch(new RegExp(`writes '${join(dir, '(checkpoints|out)')}', which job 'crash test' \\(\\w+\\) in process ${first.child.pid} has been writing since`));
    expect(second.stderr()).toContain('One job at a time per directory: stop the other run, or give this job another directory.');
    expect(snapshot(dir)).toEqual(before);

    first.child.kill('SIGCONT');
    expect(await first.exit).toBe(0);
    expect(first.stdout()).toContain('done finished');
    expectExactlyOnce(dir);
    expect(existsSync(join(dir, 'out', LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, 'checkpoints', LOCK_FILE))).toBe(false);
  });

  it('takes over the lock files a SIGKILLed run left, and completes exactly once', async () => {
    const dir = workDir();
    const first = start(dir, runtime);
    await checkpointed(first);
    first.child.kill('SIGKILL');
    await first.exit;
    // The killed run's locks stay behind, naming its (now dead) pid.
    expect(lockPid(join(dir, 'out'))).toBe(first.child.pid);
    expect(lockPid(join(dir, 'checkpoints'))).toBe(first.child.pid);

    const next = start(dir, runtime);
    expect(await next.exit).toBe(0);
    expect(next.stdout()).toContain('done finished');
    expectExactlyOnce(dir);
    expect(existsSync(join(dir, 'out', LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, 'checkpoints', LOCK_FILE))).toBe(false);
  });
});
