import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncDataStream } from '@tributary/async';
import {
  FileCheckpointStorage,
  FileSink,
  ManualClock,
  StreamExecutionEnvironment,
  type Source,
} from '@tributary/core';
import { describe, expect, it } from 'vitest';
// The keyed count, gated source and I/O wait the core fault tests use.
import { CountPerKey } from '../../../core/test/support/countPerKey.js';
import { gatedSource, until } from '../../../core/test/support/gatedSource.js';

/**
 * Restoring at another parallelism: a job with keyed state, an async batch
 * operator holding buffered and in-flight records, and an exactly-once file
 * sink is checkpointed at parallelism 2 and restored at 3 and at 1. Figures
 * reported in docs/fault-tolerance.md ("Rescaling") come from this file.
 */

const KEYS = 7;
const TOTAL = 300;
/** Records the first run reads; the async function holds every call with a record from `HELD` on. */
const FIRST_RUN = 160;
const HELD = 100;


/** source -> keyBy -> count (keyed state) -> async batch call -> exactly-once file sink, at `parallelism`. */
function buildJob(
  env: StreamExecutionEnvironment,
  source: Source<number, number>,
  out: string,
  parallelism: number,
  /** Below capacity, held records never backpressure the task: the checkpoint barrier passes them. */
  call: (batch: readonly [number, number][]) => Promise<readonly [number, number][]>,
) {
  const counted = env
    .fromSource(source, 'numbers')
    .uid('numbers')
    .keyBy((n) => n % KEYS)
    .map(new CountPerKey())
    .uid('count')
    .setParallelism(parallelism);
  AsyncDataStream.unorderedWaitBatch(counted, call, { maxBatchSize: 8, maxBatchDelay: 1_000, maxInFlightBatches: 4, capacity: 200 })
    .uid('enrich')
    .setParallelism(parallelism)
    .sinkTo(FileSink.jsonLines<[number, number]>(out))
    .uid('out')
    .setParallelism(parallelism);
}

function committed(dir: string): [number, number][] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as [number, number]);
}

const completedCheckpoints = (env: StreamExecutionEnvironment, job: string) =>
  (env.metrics.snapshot()[`job.${job}.checkpoints.numCompletedCheckpoints`] as number | undefined) ?? 0;

describe('restoring at another parallelism', () => {
  it.each([3, 1])('2 -> %i: keyed state, async buffered and in-flight records and the sink all restore; every record exactly once', async (to) => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);

    // First run, at parallelism 2: calls with a record from HELD on never complete.
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate1 = gatedSource(TOTAL);
    const held: number[] = [];
    buildJob(env1, gate1.source, out, 2, (batch) => {
      if (batch.every(([n]) => n < HELD)) return Promise.resolve(batch);
      held.push(...batch.map(([n]) => n));
      return new Promise(() => undefined);
    });
    const job1 = env1.executeAsync('rescale');
    gate1.openUntil(FIRST_RUN);
    await until(() => held.length > 0, 'a held call');
    await clock.advance(10);
    await until(() => completedCheckpoints(env1, 'rescale') === 1, 'checkpoint 1');
    job1.cancel();
    await job1.result;
    const beforeRestore = committed(out).length;
    expect(beforeRestore).toBeLessThan(FIRST_RUN);
    // What the async operator's list state holds: the records the restore must re-send.
    const stored = (await new FileCheckpointStorage(storage).loadLatest())?.checkpoint.operators.enrich?.subtasks ?? [];
    const inAsyncState = stored.reduce((n, s) => n + (s.listState?.records?.length ?? 0), 0);
    expect(inAsyncState).toBeGreaterThanOrEqual(held.length);

    // Second run, at the new parallelism, restored from checkpoint 1.
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate2 = gatedSource(TOTAL);
    gate2.openUntil(TOTAL);
    buildJob(env2, gate2.source, out, to, (batch) => Promise.resolve(batch));
    const result = await env2.execute('rescale', { restoreFrom: 'latest' });
    expect(result.restoredFrom).toMatch(/chk-0000000001\.ckpt$/);

    const records = committed(out);
    const distinct = new Set(records.map(([n]) => n));
    const lost = TOTAL - distinct.size;
    const duplicates = records.length - distinct.size;
    expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
    expect([...distinct].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    // Counts continue from the restored keyed state: no record counted twice or missed.
    for (const [n, count] of records) expect(count).toBe(Math.floor(n / KEYS) + 1);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    console.log(
      `rescale 2 -> ${to}: ${TOTAL} records, ${inAsyncState} in the async operator's state at the checkpoint (${held.length} in calls), ` +
        `${beforeRestore} committed before the restore, lost ${lost}, duplicates ${duplicates}`,
    );
  });
});
