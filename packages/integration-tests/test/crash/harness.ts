/**
 * What the tests that run the crash job in child processes share: its input file, its start, and its committed output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom, type Runtime } from '@tributary/core';
import type { Enriched, Event } from './model.js';

/** Writes `count` events of 40 users (seeded) to `<dir>/events.jsonl`, the job's input, and returns them. */
export function writeEvents(dir: string, count: number): Event[] {
  const random = seededRandom(7);
  const events = Array.from({ length: count }, (_, id) => ({ id, user: `u${Math.floor(random() * 40)}`, amount: 1 + Math.floor(random() * 100) }));
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return events;
}

/** Slots' worker threads load the workspace's TypeScript through this preload (see CONTRIBUTING.md). */
const TSX_IN_WORKERS = join(import.meta.dirname, '..', '..', '..', '..', 'tsx-workers.mjs');

/** Starts the crash job (crashJob.ts, from the latest checkpoint) on `dir` in a child process; its stdout is piped. */
export function startCrashJob(dir: string, guarantee: string, runtime: Runtime, stderr: 'inherit' | 'pipe'): ChildProcess {
  const job = join(import.meta.dirname, 'crashJob.ts');
  return spawn(process.execPath, ['--conditions=@tributary/source', '--import', 'tsx', '--import', TSX_IN_WORKERS, job, dir, guarantee, runtime], {
    stdio: ['ignore', 'pipe', stderr],
  });
}

/** The records the job committed to `<dir>/out` (its visible files, not the hidden ones of open transactions). */
export function readOutput(dir: string): Enriched[] {
  const out = join(dir, 'out');
  return readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n'))
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Enriched);
}
