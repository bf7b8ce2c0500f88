import { setTimeout as sleep } from 'node:timers/promises';
import { AsyncDataStream, RetryStrategies, ThrottledError, type WaitBatchOptions } from '@tributary/async';
import { RestartStrategies, StreamExecutionEnvironment, SystemClock, type CheckpointStorage, type CompletedCheckpoint } from '@tributary/core';
import { describe, expect, it } from 'vitest';

/**
 * Fault injection on the real system clock: durations of 30 days, past the
 * 2^31 - 1 ms Node's setTimeout can hold (it fires longer ones after 1 ms).
 * Each job runs for a short real window; the assertions count what happened
 * in it (nothing, or one call), so they hold however slow the machine is.
 */
const DAY = 24 * 60 * 60 * 1000;
const MONTH = 30 * DAY;
const WINDOW_MS = 300;
const RECORDS = 1_000;

function memoryStorage(): CheckpointStorage & { readonly stored: CompletedCheckpoint[] } {
  const stored: CompletedCheckpoint[] = [];
  return {
    stored,
    store: (checkpoint) => {
      stored.push(checkpoint);
      return Promise.resolve({ location: `mem-${checkpoint.checkpointId}`, bytes: 0 });
    },
    highestCheckpointId: () => Promise.resolve(stored.at(-1)?.checkpointId ?? 0),
    loadLatest: () => Promise.resolve(undefined),
    load: (location) => Promise.reject(new Error(`no checkpoint ${location}`)),
  };
}

/** The system clock, counting the timers that fired (a chained timer fires once, when due). */
class CountingClock extends SystemClock {
  fired = 0;

  override schedule(at: number, callback: () => void): () => void {
    return super.schedule(at, () => {
      this.fired++;
      callback();
    });
  }
}

/** `count` numbers, then a real pause of `WINDOW_MS` before the input ends: the window in which nothing may fire. */
function numbersThenPause(count: number): { values: AsyncGenerator<number>; readonly ended: () => boolean } {
  let ended = false;
  async function* values(): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) yield i;
    await sleep(WINDOW_MS);
    ended = true;
  }
  return { values: values(), ended: () => ended };
}

describe('long durations on the system clock', () => {
  /** Runs 1,000 records through a batch operator with `options` on the system clock, counting what fired early. */
  async function runBatches(options: Pick<WaitBatchOptions<number, number>, 'maxBatchDelay' | 'timeout' | 'deadline'>, intervalMs?: number) {
    const storage = memoryStorage();
    const clock = new CountingClock();
    const env = StreamExecutionEnvironment.create({ clock });
    if (intervalMs !== undefined) env.enableCheckpointing(intervalMs, { storage });
    const source = numbersThenPause(RECORDS);
    const counts = { calls: 0, flushedEarly: 0, timedOut: 0 };
    const out: number[] = [];
    AsyncDataStream.unorderedWaitBatch(
      env.fromAsyncIterable(source.values),
      async (xs: readonly number[], { signal }) => {
        counts.calls++;
        // 64 does not divide 1,000: the last 40 records wait for the batch timer, so with a 30-day one only end of input may send them.
        if (xs.length < 64 && !source.ended()) counts.flushedEarly++;
        await sleep(5);
        if (signal.aborted) counts.timedOut++;
        return [...xs];
      },
      { maxBatchSize: 64, ...options },
    ).addSink((x) => void out.push(x));
    const status = await env.execute('long durations').then(
      (result) => result.status,
      (error: unknown) => String(error),
    );
    const checkpoints = storage.stored.filter((c) => !c.final).length;
    return { status, checkpoints, timersFired: clock.fired, ...counts, lost: RECORDS - new Set(out).size, duplicates: out.length - new Set(out).size };
  }

  const clean = { status: 'finished', checkpoints: 0, timersFired: 0, calls: Math.ceil(RECORDS / 64), flushedEarly: 0, timedOut: 0, lost: 0, duplicates: 0 };

  it('a 30-day checkpoint interval takes no checkpoint in the window', async () => {
    expect(await runBatches({}, MONTH)).toEqual(clean);
  });

  it('a 30-day maxBatchDelay neither flushes the partial batch before end of input nor spins re-arming its timer', async () => {
    expect(await runBatches({ maxBatchDelay: MONTH })).toEqual(clean);
  });

  it('a 30-day timeout and deadline cut no call', async () => {
    expect(await runBatches({ timeout: MONTH, deadline: MONTH })).toEqual(clean);
  });

  it('a 30-day Retry-After: one call, not a loop; cancel() still ends the job', async () => {
    const env = StreamExecutionEnvironment.create();
    let calls = 0;
    AsyncDataStream.unorderedWaitBatch(
      env.fromAsyncIterable(numbersThenPause(10).values),
      () => {
        calls++;
        return Promise.reject(new ThrottledError('come back next month', MONTH));
      },
      { maxBatchSize: 10, retry: RetryStrategies.fixedDelay({ maxAttempts: 1_000, delayMs: 1 }) },
    ).addSink(() => undefined);
    const job = env.executeAsync('throttled for a month');
    await sleep(WINDOW_MS);
    expect(calls).toBe(1);
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
  });

  it('a 30-day restart delay: no restart in the window; cancel() ends the wait', async () => {
    const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(3, MONTH) });
    let runs = 0;
    env
      .fromElements(1)
      .map(() => {
        runs++;
        throw new Error('broken dependency');
      })
      .addSink(() => undefined);
    const job = env.executeAsync('restart next month');
    await sleep(WINDOW_MS);
    expect(runs).toBe(1);
    job.cancel();
    const result = await job.result;
    expect([result.status, result.restarts]).toEqual(['cancelled', 1]);
  });
});
