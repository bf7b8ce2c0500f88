import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { feed } from '../src/pipeline.js';
import { formatProgress, ProgressWatcher, type Progress } from '../src/progress.js';
import type { Settings } from '../src/settings.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const TASKS = 3_000;
// The worker's job runs in two task slots: their threads load its TypeScript module through tsx too.
const TSX_IN_WORKERS = join(import.meta.dirname, '..', '..', '..', 'tsx-workers.mjs');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function startWorker(settings: Settings, name: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const args = ['--redis', settings.redis, '--input', settings.input, '--output', settings.output, '--group', settings.group];
  const child = spawn(
    process.execPath,
    [
      '--conditions=@tributary/source',
      '--import',
      'tsx',
      '--import',
      TSX_IN_WORKERS,
      join(import.meta.dirname, '..', 'src', 'worker.ts'),
      name,
      ...args,
      '--checkpoints',
      mkdtempSync(join(tmpdir(), `${name}-`)),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.on('exit', resolve)) };
}

describe('redis-workers example', () => {
  it('two worker processes of two task slots each share the tasks: every task done once, both did some', async () => {
    const id = randomUUID();
    const settings: Settings = { redis: inject('redisUrl'), input: `example:${id}:tasks`, output: `example:${id}:results`, group: 'workers' };
    const workers = ['alpha', 'beta'].map((name) => startWorker(settings, name));
    const watcher = new ProgressWatcher(settings);
    const deadline = Date.now() + 60_000;
    // Every slot of both is waiting in XREADGROUP before the tasks arrive, so Redis hands out to all: consumers <name>-<slot>.
    while ((await watcher.poll()).consumers.length < 4) {
      if (Date.now() > deadline) throw new Error(`workers did not start:\n${workers.map((w) => w.output()).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await feed(settings, TASKS);

    let progress: Progress | undefined;
    while (progress === undefined || progress.done < TASKS || progress.pending > 0) {
      if (Date.now() > deadline) throw new Error(`workers did not finish: ${progress === undefined ? '-' : formatProgress(progress)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress = await watcher.poll();
    }
    watcher.close();
    console.log(formatProgress(progress));

    expect(progress.tasks).toBe(TASKS);
    expect(progress.duplicates).toBe(0);
    expect(progress.consumers.map((c) => c.name).sort()).toEqual(['alpha-0', 'alpha-1', 'beta-0', 'beta-1']);
    expect([...progress.byWorker.keys()].sort()).toEqual(['alpha', 'beta']);
    expect([...progress.byWorker.values()].reduce((a, b) => a + b, 0)).toBe(TASKS);

    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    // SIGTERM drains: each worker finishes what it holds and ends as finished.
    for (const w of workers) expect(w.output()).toMatch(/stopped \(finished\) after \d+ tasks/);
  });
});
