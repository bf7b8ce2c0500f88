import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, StreamExecutionEnvironment, type Source } from '@tributary/core';
import { AsyncDataStream } from '../src/index.js';
import { ControlledCalls } from './helpers.js';
import { CountAtEnd } from '../../core/test/support/countAtEnd.js';
import { gatedSource, until } from '../../core/test/support/gatedSource.js';

/**
 * A bounded branch (10 records through a count at the end of input and an async operator whose calls the test
 * holds) unioned with a gated endless one into one sink, checkpointed every 10 ms.
 */
function job(clock: ManualClock, storage: string, calls: ControlledCalls<number, number>, endless: Source<number, number>, received: number[]) {
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
  const bounded = env
    .fromCollection(Array.from({ length: 10 }, (_, i) => 1_000 + i))
    .uid('bounded')
    .transform<number>('Count at end', (ctx) => new CountAtEnd(ctx))
    .uid('count');
  const answered = AsyncDataStream.unorderedWaitBatch(bounded, calls.fn, { maxBatchSize: 100 }).uid('async');
  answered.union(env.fromSource(endless, 'numbers').uid('numbers')).addSink((n) => void received.push(n));
  return env;
}

describe('a checkpoint while a task whose input ended still flushes (its async calls out)', () => {
  it('completes, and the live branch beside it flows on: the flushing task injects the barrier itself', async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const calls = new ControlledCalls<number, number>();
    // It stays open past the numbers the test lets through: a source that ended would end periodic checkpoints.
    const endless = gatedSource(1_000);
    const received: number[] = [];
    const env = job(clock, storage, calls, endless.source, received);
    const result = env.executeAsync('flushing');
    const completed = () => (env.metrics.snapshot()['job.flushing.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    // The bounded branch ended its input: its 11 records (10 and the count) wait in one held call.
    await until(() => calls.calls.length === 1, 'the held call');
    expect(calls.call(0).inputs).toHaveLength(11);
    endless.openUntil(50);
    await until(() => received.length === 50, 'the first 50 numbers');
    await clock.advance(10);
    endless.openUntil(100);
    // Before, the sink's input aligned on the barrier of checkpoint 1 and held the numbers after it until the call returned.
    await until(() => completed() === 1 && received.length === 100, 'checkpoint 1 and the numbers after its barrier');
    expect(calls.calls).toHaveLength(1);
    calls.call(0).resolve(calls.call(0).inputs);
    endless.openUntil(1_000);
    await until(() => result.status !== 'running', 'the job to end');
    expect((await result.result).status).toBe('finished');
    expect(received.filter((n) => n >= 1_000 || n < 0).sort((a, b) => a - b)).toEqual([-10, ...Array.from({ length: 10 }, (_, i) => 1_000 + i)]);
  });

  it("restored from that checkpoint, sends the held records again and does not run the finished count's end again", async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const first = new ControlledCalls<number, number>();
    const endless = gatedSource(100);
    const received: number[] = [];
    const env = job(clock, storage, first, endless.source, received);
    const run = env.executeAsync('flushing');
    const completed = () => (env.metrics.snapshot()['job.flushing.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    await until(() => first.calls.length === 1, 'the held call');
    await clock.advance(10);
    await until(() => completed() === 1, 'checkpoint 1');
    run.cancel();
    await run.result;
    expect(received.filter((n) => n >= 1_000 || n < 0)).toEqual([]);

    const second = new ControlledCalls<number, number>();
    const again = gatedSource(100);
    again.openUntil(100);
    const env2 = job(clock, storage, second, again.source, received);
    const run2 = env2.executeAsync('flushing', { restoreFrom: 'latest' });
    await until(() => second.calls.length === 1, 'the call sent again');
    expect([...second.call(0).inputs].sort((a, b) => a - b)).toEqual([-10, ...Array.from({ length: 10 }, (_, i) => 1_000 + i)]);
    second.call(0).resolve(second.call(0).inputs);
    await until(() => run2.status !== 'running', 'the job to end');
    expect((await run2.result).status).toBe('finished');
    // One count: the count operator had ended its input at the checkpoint, so the restore does not end it again.
    expect(received.filter((n) => n < 0)).toEqual([-10]);
  });

  it('goes on after every source ended: a long flush at the end of a bounded job is checkpointed too', async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const calls = new ControlledCalls<number, number>();
    const received: number[] = [];
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const bounded = env.fromCollection(Array.from({ length: 10 }, (_, i) => i)).uid('bounded');
    AsyncDataStream.unorderedWaitBatch(bounded, calls.fn, { maxBatchSize: 100 })
      .uid('async')
      .addSink((n) => void received.push(n));
    const run = env.executeAsync('bounded');
    const completed = () => (env.metrics.snapshot()['job.bounded.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    await until(() => calls.calls.length === 1, 'the held call');
    // Before, periodic checkpoints stopped once the only source had read its last record.
    await clock.advance(10);
    await until(() => completed() === 1, 'checkpoint 1 while the call is out');
    calls.call(0).resolve(calls.call(0).inputs);
    await until(() => run.status !== 'running', 'the job to end');
    expect((await run.result).status).toBe('finished');
    expect(received.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
