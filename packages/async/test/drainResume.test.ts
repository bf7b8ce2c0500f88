import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FileSink, ManualClock, StreamExecutionEnvironment } from '@tributary/core';
import { AsyncDataStream } from '../src/index.js';
import { ControlledCalls } from './helpers.js';
import { gatedSource, until } from '../../core/test/support/gatedSource.js';
import { committedRecords } from '../../core/test/support/committedRecords.js';


it('drained, resumed from that final checkpoint and drained again, an async operator waits for its calls in flight each time', async () => {
  const clock = new ManualClock(0);
  const storage = mkdtempSync(join(tmpdir(), 'drain-ckpt-'));
  const out = mkdtempSync(join(tmpdir(), 'drain-out-'));
  let read = 0;

  /** A run: `more` records through, calls held; a drain while they are out; then every call answered. */
  const run = async (more: number, restoreFrom?: 'latest') => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(Number.POSITIVE_INFINITY);
    const calls = new ControlledCalls<number, number>();
    const numbers = env
      .fromSource(gate.source, 'numbers')
      .uid('numbers')
      .map((n: number) => (read++, n))
      .uid('read');
    AsyncDataStream.unorderedWaitBatch(numbers, calls.fn, { maxBatchSize: 10, maxInFlightBatches: 100 })
      .uid('async')
      .sinkTo(FileSink.jsonLines<number>(out))
      .uid('out');
    const job = env.executeAsync('drained', restoreFrom === undefined ? {} : { restoreFrom });
    const before = read;
    gate.openUntil(Number.MAX_SAFE_INTEGER);
    await until(() => read - before >= more && calls.calls.length > 0, 'records read and calls out');
    // Drained while its calls are out: none was answered yet.
    expect(calls.calls.length).toBeGreaterThan(0);
    job.drain();
    for (let answered = 0; job.status === 'running'; ) {
      for (; answered < calls.calls.length; answered++) calls.call(answered).resolve(calls.call(answered).inputs);
      await clock.advance(10);
    }
    return job.result;
  };

  expect((await run(50)).status).toBe('finished');
  expect(committedRecords(out)).toEqual(Array.from({ length: read }, (_, i) => i));
  // Restored from the drained run's final checkpoint: its operators were finished, and must run again, calls and flush.
  expect((await run(50, 'latest')).status).toBe('finished');
  expect(committedRecords(out)).toEqual(Array.from({ length: read }, (_, i) => i));
});
