import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { MetricRegistry } from '../../src/index.js';
import { until } from '../support/gatedSource.js';
import { endlessToFiles, idleIterableToFiles } from './fixtures/jobs.job.js';
import { committedRecords } from '../support/committedRecords.js';

/** Where a drained job writes and checkpoints. */
const directories = () => ({ out: mkdtempSync(join(tmpdir(), 'drain-out-')), storage: mkdtempSync(join(tmpdir(), 'drain-ckpt-')) });

/** Records out of `operator`, over its subtasks, as the job's metrics count them so far. */
function recordsOut(job: { readonly metrics: MetricRegistry; readonly jobId: string }, operator: string): number {
  return Object.entries(job.metrics.snapshot({ job_id: job.jobId }))
    .filter(([id]) => id.includes(`.operator.${operator}.`) && id.endsWith('.numRecordsOut'))
    .reduce((n, [, v]) => n + (v as number), 0);
}

it.each(['slots', 'single-thread'] as const)('drains an endless job in %s: it finishes, and every record read is committed once', { timeout: 30_000 }, async (runtime) => {
  const { out, storage } = directories();
  const job = endlessToFiles.executeAsync({ n: 0, parallelism: 2, runtime, out, storage });
  await until(() => recordsOut(job, 'numbers') >= 1_000, 'a thousand records read');
  job.drain();
  const result = await job.result;
  expect(result.status).toBe('finished');
  const records = committedRecords(out);
  // Subtask i reads i, i + 2, ...: each subtask's records are committed without a gap or a repeat, up to where it stopped.
  for (const subtask of [0, 1]) {
    const own = records.filter((n) => n % 2 === subtask);
    expect(own).toEqual(own.map((_, i) => subtask + 2 * i));
  }
  const read = result.operators.find((o) => o.name === 'numbers')?.recordsOut;
  expect(records.length).toBe(read);
  expect(records.length).toBeGreaterThanOrEqual(1_000);
});

it.each(['slots', 'single-thread'] as const)('drains in %s a job whose source waits for data that does not come', { timeout: 30_000 }, async (runtime) => {
  const { out, storage } = directories();
  const job = idleIterableToFiles.executeAsync({ n: 500, parallelism: 2, runtime, out, storage });
  // Every record read, the source's next read waits for ever: the drain ends it, and the job finishes with every record committed.
  await until(() => recordsOut(job, 'copy') === 500 && job.tasks().some((t) => t.task.startsWith('Source') && t.waitingOn === 'input'), 'the 500 records through');
  job.drain();
  const result = await job.result;
  expect(result.status).toBe('finished');
  expect(committedRecords(out).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
});

