// Fault injection for the per-record operators' timeouts, retries and timeout() hooks in a
// whole job: calls that hang, attempts whose retry would cross the timeout, hooks that never
// complete, and the end of input arriving while all of that is under way. Every record must
// come out exactly once: as an output, a hook's fallback, or a dead letter.
import { describe, expect, it } from 'vitest';
import { OutputTag, StreamExecutionEnvironment } from '@tributary/core';
import { ManualClock, collect, runJobToCompletion } from '@tributary/testing';
import { AsyncDataStream, AsyncTimeoutError, RetryStrategies, type AsyncFunction, type DeadLetter } from '../src/index.js';
import { range } from './helpers.js';

const RECORDS = 1_000;
const TIMEOUT = 100;

/** What happens to record r: by r % 5. */
function faultyLookup(clock: ManualClock, counts: { hooks: number; silentHooks: number }): AsyncFunction<number, number> {
  const attempts = new Map<number, number>();
  const later = (ms: number, f: () => void) => clock.schedule(clock.now() + ms, f);
  return {
    asyncInvoke(r, future) {
      const attempt = (attempts.get(r) ?? 0) + 1;
      attempts.set(r, attempt);
      switch (r % 5) {
        case 0: // hangs: only the timeout ends it
          return;
        case 1: // fails at 70; a retry 40 later would cross the timeout at 100
          later(70, () => future.completeExceptionally(new Error(`failed ${r}`)));
          return;
        case 2: // fails once, then answers
          later(10, () => (attempt === 1 ? future.completeExceptionally(new Error(`flaky ${r}`)) : future.complete([r])));
          return;
        default:
          later(10, () => future.complete([r]));
      }
    },
    timeout(r, future) {
      counts.hooks++;
      if (r % 2 === 0) future.complete([-r]);
      else counts.silentHooks++; // never completes
    },
  };
}

describe.each(['unorderedWait', 'orderedWait'] as const)('fault injection: %s with hanging calls, retries past the timeout and silent timeout() hooks', (method) => {
  it('emits or dead-letters every record exactly once, and the job ends', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    const counts = { hooks: 0, silentHooks: 0 };
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const looked = AsyncDataStream[method](env.fromCollection(range(1, RECORDS)), faultyLookup(clock, counts), {
      timeout: TIMEOUT,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 40 }),
      onFailure: { deadLetter: dead },
    });
    const out = collect(looked);
    const letters = collect(looked.getSideOutput(dead));

    const result = await runJobToCompletion(env.executeAsync('faults'), clock);

    expect(result.status).toBe('finished');
    const seen = [...out.map(Math.abs), ...letters.map((l) => l.input)].sort((a, b) => a - b);
    expect(seen).toEqual(range(1, RECORDS)); // none lost, none twice
    // Every hook that never completed ended in a dead letter of kind 'hook', after the timeout again.
    expect(counts.silentHooks).toBeGreaterThan(0);
    expect(letters.filter((l) => l.error instanceof AsyncTimeoutError && l.error.kind === 'hook')).toHaveLength(counts.silentHooks);
    // Records that hang or cross the timeout (r % 5 of 0 and 1) reach the hook, except those whose attempt
    // failed after the end of input: as in Flink, that outcome is final (a dead letter with the attempt's error).
    const finalAtEnd = letters.filter((l) => (l.error as Error).message === `failed ${l.input}`).length;
    expect(counts.hooks + finalAtEnd).toBe(range(1, RECORDS).filter((r) => r % 5 <= 1).length);
    expect(out.filter((v) => v < 0)).toHaveLength(counts.hooks - counts.silentHooks);
  }, 60_000); // a guard for a loaded machine (about 0.3 s when idle); the test asserts no timing
});
