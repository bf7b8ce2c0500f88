import { existsSync, mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStorage } from '../../src/index.js';
import { until } from '../support/gatedSource.js';
import { endInputAfterRestarts, exactlyOnce, failedStores, flushingBranch } from './fixtures/jobs.job.js';

const RUNTIMES = ['single-thread', 'slots'] as const;
const N = 6000;

/** Committed output lines (hidden in-progress files are not output). */
function committed(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as number);
}

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'slots-ckpt-'));
  return { out: mkdtempSync(join(root, 'out-')), storage: mkdtempSync(join(root, 'ckpt-')), marker: join(root, 'failed-once') };
}

const everyNumber = Array.from({ length: N }, (_, i) => i);

describe.each(RUNTIMES)('exactly-once checkpoints, runtime %s', { timeout: 60_000 }, (runtime) => {
  it('restarts from the latest checkpoint after a failure in slot 1: every record committed once', async () => {
    const { out, storage, marker } = dirs();
    const result = await exactlyOnce.execute({ n: N, parallelism: 2, runtime, out, storage, marker, intervalMs: 5, at: 2000, restarts: 1 });
    expect(result.restarts).toBe(1);
    expect((result.lastFailure as Error).message).toBe('crash after a checkpoint');
    expect(committed(out).sort((a, b) => a - b)).toEqual(everyNumber);
  });

  it('restores a failed run from its latest checkpoint: every record committed once', async () => {
    const { out, storage, marker } = dirs();
    const args = { n: N, parallelism: 2, runtime, out, storage, marker, intervalMs: 5, at: 2000, restarts: 0 };
    await expect(exactlyOnce.execute(args, { jobName: 'first run' })).rejects.toThrow("Job 'first run' failed in operator 'Map' (uid 'check'): crash after a checkpoint");
    // What the first run committed (its checkpoints' transactions whose commit it reached) is not all of it.
    expect(committed(out).length).toBeLessThan(N);
    const result = await exactlyOnce.execute(args, { jobName: 'second run', restoreFrom: 'latest' });
    expect(result.restoredFrom).toMatch(/chk-\d{10}\.ckpt$/);
    expect(committed(out).sort((a, b) => a - b)).toEqual(everyNumber);
  });
});

describe.each(RUNTIMES)('end of input after restarts, runtime %s', { timeout: 60_000 }, (runtime) => {
  it('emits what an operator emits at the end of its input once, however often the job restarts after it finished', async () => {
    const { out, storage } = dirs();
    const totals = mkdtempSync(join(tmpdir(), 'slots-totals-'));
    failedStores.clear();
    // Checkpoints 3 and 4 fail once each: the restore after the second is from a checkpoint the restored branch took
    // a barrier for (in slots, before it ended its input again), which lost its "finished" mark before the fix.
    const result = await endInputAfterRestarts.execute({ n: 40_000, parallelism: 2, runtime, out, totals, storage, failIds: [3, 4] });
    expect(result.restarts).toBe(2);
    const lines = readdirSync(totals)
      .filter((f) => !f.startsWith('.'))
      .flatMap((f) => readFileSync(join(totals, f), 'utf8').split('\n').filter((l) => l !== ''))
      .map((l) => (JSON.parse(l) as { total: number }).total);
    // One total per subtask of 'total', together the 50 records.
    expect(lines).toHaveLength(2);
    expect(lines.reduce((a, b) => a + b, 0)).toBe(50);
    expect(committed(out).sort((a, b) => a - b)).toEqual(Array.from({ length: 40_000 }, (_, i) => i));
    // The branch committed its totals at a checkpoint while the paced one ran (at least 200 reads of 1 ms): from then
    // on checkpoints hold it finished with no state, the final one too (its commit report crossed from the slots).
    const final = await new FileCheckpointStorage(storage).loadLatest();
    expect(final?.checkpoint.final).toBe(true);
    expect(final?.checkpoint.operators.total?.subtasks).toEqual([{ finished: true }, { finished: true }]);
  });
});

describe.each(RUNTIMES)('a checkpoint while a task whose input ended flushes, runtime %s', { timeout: 60_000 }, (runtime) => {
  it('completes while the flush waits: the flushing task is triggered as a source', async () => {
    const { storage } = dirs();
    const release = join(storage, '..', 'release');
    const result = flushingBranch.execute({ n: 200, parallelism: 2, runtime, storage, release });
    const newest = () => Math.max(0, ...readdirSync(storage).map((f) => Number(/^chk-(\d+)\.ckpt$/.exec(f)?.[1] ?? 0)));
    try {
      await until(() => existsSync(`${release}.flushing`), 'the flush to begin');
      // The checkpoint after the one in flight then (if any) was triggered during the flush. Before, none could
      // complete until the held records went out, and they wait for the release file.
      const before = newest();
      await until(() => newest() >= before + 2, 'a checkpoint triggered while the flush waits');
    } finally {
      writeFileSync(release, '');
    }
    expect((await result).restarts).toBe(0);
  });
});
