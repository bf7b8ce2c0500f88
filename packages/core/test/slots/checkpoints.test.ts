import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactlyOnce } from './fixtures/jobs.job.js';

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
