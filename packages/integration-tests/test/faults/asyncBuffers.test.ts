import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AsyncOperatorListState } from '@tributary/async';
import { FileCheckpointStorage } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { until } from '../../../core/test/support/gatedSource.js';
import { asyncBuffers, highestCheckpoint, KEYS } from './asyncBuffers.job.js';

/**
 * The async batch operator's checkpointed buffers in task slots: records
 * buffered and in calls at a checkpoint restore after a failure mid-batch and
 * at another parallelism, every record exactly once. Figures reported in
 * docs/fault-tolerance.md ("Async buffers in slots") come from this file.
 */

const TOTAL = 300;
const HELD_FROM = 100;

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'async-slots-'));
  const dir = (name: string) => mkdtempSync(join(root, `${name}-`));
  return { root, storage: dir('ckpt'), out: dir('out'), heldLog: join(root, 'held.jsonl') };
}

function committed(dir: string): [number, number][] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as [number, number]);
}

/** Every record a held call carried, from the calls' log. */
function held(log: string): number[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .flatMap((l) => JSON.parse(l) as number[]);
}

/** The records (n) the async operator's list state holds to send again, over its subtasks, in the checkpoint at `location` or the latest. */
async function inAsyncState(storage: string, location?: string): Promise<number[]> {
  const files = new FileCheckpointStorage(storage);
  const stored = location === undefined ? await files.loadLatest() : await files.load(location);
  const lists = (stored?.checkpoint.operators.enrich?.subtasks ?? []).map((s) => s.listState as AsyncOperatorListState<[number, number], [number, number]> | undefined);
  return lists.flatMap((list) => (list?.records ?? []).flat().flatMap((entry) => ('input' in entry ? [entry.input[0]] : [])));
}

/** Lost and duplicated records of 0..total-1 in the committed output; every count continues its key's. */
function audit(records: [number, number][], total: number) {
  const distinct = new Set(records.map(([n]) => n));
  for (const [n, count] of records) expect(count).toBe(Math.floor(n / KEYS) + 1);
  return { lost: total - distinct.size, duplicates: records.length - distinct.size };
}

describe('the async batch operator’s checkpointed buffers in slots', { timeout: 120_000 }, () => {
  it('restarts after a call fails mid-batch from a checkpoint taken while calls were in flight: every record exactly once', async () => {
    const { root, storage, out, heldLog } = dirs();
    const failOnce = join(root, 'failed');
    const result = await asyncBuffers.execute(
      { parallelism: 2, total: TOTAL, pauseAt: TOTAL, resume: failOnce, heldFrom: HELD_FROM, storage, out, heldLog, failOnce, restarts: 1 },
      { jobName: 'async mid-batch' },
    );
    expect(result.status).toBe('finished');
    expect(result.restarts).toBe(1);
    expect((result.lastFailure as Error).message).toContain('failure mid-batch');
    // The checkpoint the failing call was in flight through holds its records (and the other calls' and buffered ones) in list state.
    const failed = JSON.parse(readFileSync(failOnce, 'utf8')) as { through: number; batch: number[] };
    const restored = await inAsyncState(storage, join(storage, `chk-${String(failed.through).padStart(10, '0')}.ckpt`));
    expect(restored).toEqual(expect.arrayContaining(failed.batch));
    const { lost, duplicates } = audit(committed(out), TOTAL);
    expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
    console.log(
      `async mid-batch in 2 slots: ${TOTAL} records, 1 call failed, ${restored.length} in the async operator's state at checkpoint ${failed.through}, ` +
        `restarts ${result.restarts}, lost ${lost}, duplicates ${duplicates}`,
    );
  });

  it('restores 2 -> 3 slots from a checkpoint taken while batches were in flight: every record exactly once', async () => {
    const { storage, out, heldLog } = dirs();
    const firstRun = 160;
    // First run, in 2 slots: reads 0..159; calls with a record from 100 on never complete.
    const job1 = asyncBuffers.executeAsync(
      { parallelism: 2, total: TOTAL, pauseAt: firstRun, heldFrom: HELD_FROM, forever: true, storage, out, heldLog, restarts: 0 },
      { jobName: 'async rescale' },
    );
    // Every record from 100 on is in a held call; then two more checkpoints, the second taken wholly while they were.
    await until(() => held(heldLog).filter((n) => n >= HELD_FROM).length === firstRun - HELD_FROM, 'every held record in a call');
    const through = highestCheckpoint(storage) + 2;
    await until(() => highestCheckpoint(storage) >= through, `checkpoint ${through}`);
    job1.cancel();
    expect((await job1.result).status).toBe('cancelled');
    const inCalls = held(heldLog);
    const inState = await inAsyncState(storage);
    expect(inState).toEqual(expect.arrayContaining(inCalls));
    const beforeRestore = committed(out).length;
    expect(beforeRestore).toBeLessThan(firstRun);

    // Second run, in 3 slots, restored from the latest checkpoint; calls complete.
    const result = await asyncBuffers.execute(
      { parallelism: 3, total: TOTAL, heldFrom: TOTAL, storage, out, heldLog, restarts: 0 },
      { jobName: 'async rescale', restoreFrom: 'latest' },
    );
    expect(result.restoredFrom).toMatch(/chk-\d{10}\.ckpt$/);
    expect(result.operators.find((o) => o.name === 'enrich')?.parallelism).toBe(3);
    const { lost, duplicates } = audit(committed(out), TOTAL);
    expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
    console.log(
      `async rescale 2 -> 3 slots: ${TOTAL} records, ${inState.length} in the async operator's state at the checkpoint (${inCalls.length} in calls), ` +
        `${beforeRestore} committed before the restore, lost ${lost}, duplicates ${duplicates}`,
    );
  });
});
