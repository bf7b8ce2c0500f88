import { describe, expect, it } from 'vitest';
import { FakeBatchService, ManualClock } from '@tributary/testing';
import { OutputTag } from '@tributary/core';
import {
  AsyncTimeoutError,
  NonRetryableError,
  RetryStrategies,
  ThrottledError,
  type AsyncBatchFunction,
  type DeadLetter,
  type ResultFuture,
  type RetryStrategy,
} from '../src/index.js';
import { ControlledCalls, batchHarness, metric, range, serviceHarness } from './helpers.js';

const retryAlways = (maxAttempts: number, delayMs = 0): RetryStrategy => RetryStrategies.fixedDelay({ maxAttempts, delayMs });

describe('timeouts', () => {
  it('a timed-out attempt aborts ctx.signal with an AsyncTimeoutError', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, timeout: 100 });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(99);
    expect(calls.call(0).ctx.signal.aborted).toBe(false);
    await harness.setProcessingTime(100);
    const reason: unknown = calls.call(0).ctx.signal.reason;
    expect(reason).toBeInstanceOf(AsyncTimeoutError);
    expect((reason as AsyncTimeoutError).kind).toBe('attempt');
    expect(metric(harness, 'timeouts')).toBe(1);
    expect((harness.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: async call timed out after 100 ms');
  });

  it('completion just before the timeout wins: one result, no timeout', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, timeout: 100 });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(99);
    calls.call(0).resolve([10]);
    await harness.setProcessingTime(200);
    expect(harness.getOutput()).toEqual([10]);
    expect(calls.call(0).ctx.signal.aborted).toBe(false);
    expect(metric(harness, 'timeouts')).toBe(0);
    expect(harness.failure).toBeUndefined();
  });

  it('a completion settled at the same instant as the timeout, but first, wins', async () => {
    const calls = new ControlledCalls<number, number>();
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, timeout: 100, onFailure: { deadLetter: letters } });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(99);
    calls.call(0).resolve([10]); // its callback is queued before the timer fires at 100
    await harness.setProcessingTime(100);
    expect(harness.getOutput()).toEqual([10]);
    expect(harness.getSideOutput(letters)).toEqual([]);
  });

  it('a completion after the timeout is ignored: exactly one outcome', async () => {
    const calls = new ControlledCalls<number, number>();
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, timeout: 100, onFailure: { deadLetter: letters } });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(100);
    calls.call(0).resolve([10]);
    calls.call(0).reject(new Error('late'));
    await harness.setProcessingTime(300);
    expect(harness.getOutput()).toEqual([]);
    expect(harness.getSideOutput(letters)).toEqual([{ input: 1, error: new AsyncTimeoutError('attempt', 100), attempts: 1 }]);
  });

  it('the first completion of a result future wins; later ones are ignored', async () => {
    const fn: AsyncBatchFunction<number, number> = {
      asyncInvokeBatch(inputs, future) {
        future.complete(inputs.map((x) => x + 1));
        future.complete([999]);
        future.completeExceptionally(new Error('ignored'));
      },
    };
    const harness = batchHarness(fn, { maxBatchSize: 2 });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([2, 3]);
    expect(harness.failure).toBeUndefined();
  });

  it('the timeout() hook decides the result of a batch that ran out of time, once, after the last attempt', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], hangCalls: [1, 2] });
    let hooks = 0;
    const fn: AsyncBatchFunction<number, string> = {
      async asyncInvokeBatch(inputs, future, ctx) {
        future.complete((await service.call(inputs, { signal: ctx.signal })).map(String));
      },
      timeout(inputs, future) {
        hooks++;
        future.complete(inputs.map((x) => `fallback ${x}`));
      },
    };
    const harness = batchHarness(fn, { maxBatchSize: 2, timeout: 50, retry: retryAlways(2, 10) }, clock);
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(109);
    expect(hooks).toBe(0);
    await harness.setProcessingTime(110);
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'aborted'],
      [60, 'aborted'],
    ]);
    expect(hooks).toBe(1);
    expect(harness.getOutput()).toEqual(['fallback 1', 'fallback 2']);
    await harness.endInput();
    expect(hooks).toBe(1);
  });

  /**
   * Two records whose one call hangs past the deadline of 100, with retries and
   * split-on-failure on, and a timeout() hook that answers with `answer`:
   * the calls the service saw, the hook calls and the dead letters.
   */
  async function hookAnswers(answer: (future: ResultFuture<number>) => void, perItem: boolean) {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], hangCalls: [1] });
    let hooks = 0;
    const fn: AsyncBatchFunction<number, number> = {
      async asyncInvokeBatch(inputs, future, ctx) {
        future.complete(await service.call(inputs, { signal: ctx.signal }));
      },
      timeout(_inputs, future) {
        hooks++;
        answer(future);
      },
    };
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const harness = batchHarness(
      fn,
      { maxBatchSize: 2, deadline: 100, splitOnFailure: true, retry: retryAlways(3), onFailure: { deadLetter: dead }, ...(perItem ? { resultMode: 'per-item' } : {}) },
      clock,
    );
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(100);
    await harness.endInput();
    return { calls: service.calls.map((c) => c.inputs), hooks, letters: harness.getSideOutput(dead) };
  }

  it.each([
    ['an error', new Error('no fallback either')],
    ['a timeout error', new AsyncTimeoutError('attempt', 50)],
  ])("the timeout() hook's failure (%s) is final: no split, no retry, no second hook call", async (_, hookError) => {
    const { calls, hooks, letters } = await hookAnswers((future) => future.completeExceptionally(hookError), false);
    expect(hooks).toBe(1);
    expect(calls).toEqual([[1, 2]]);
    expect(letters.map((l) => [l.input, l.error])).toEqual([
      [1, hookError],
      [2, hookError],
    ]);
  });

  it("in per-item mode, a timeout() hook's answer of the wrong length is final too", async () => {
    const { calls, hooks, letters } = await hookAnswers((future) => future.complete([0]), true); // one output for two inputs
    expect(hooks).toBe(1);
    expect(calls).toEqual([[1, 2]]);
    expect(letters.map((l) => l.input)).toEqual([1, 2]);
    expect(letters.every((l) => l.error instanceof NonRetryableError && /got 1 outputs for 2 inputs/.test(l.error.message))).toBe(true);
  });

  it('a timeout() hook that never completes gets as long as the limit that ran out, then its records go to the failure policy', async () => {
    let hooks = 0;
    const fn: AsyncBatchFunction<number, number> = {
      asyncInvokeBatch() {}, // hangs until its timeout of 50
      timeout() {
        hooks++; // and never completes
      },
    };
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const harness = batchHarness(fn, { maxBatchSize: 2, timeout: 50, onFailure: { deadLetter: dead } });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(99);
    expect(hooks).toBe(1);
    expect(harness.getSideOutput(dead)).toEqual([]);
    await harness.setProcessingTime(100);
    expect(harness.getSideOutput(dead).map((l) => [l.input, (l.error as AsyncTimeoutError).kind, (l.error as Error).message])).toEqual([
      [1, 'hook', 'the timeout() hook did not complete within 50 ms'],
      [2, 'hook', 'the timeout() hook did not complete within 50 ms'],
    ]);
    expect(metric(harness, 'timeouts')).toBe(2); // the attempt's and the hook's
    await harness.endInput(); // nothing left to wait for
    expect(hooks).toBe(1);
  });

  it("a timeout() hook that completes in time wins over its bound; a later completion is ignored", async () => {
    const clock = new ManualClock(0);
    let answer: ResultFuture<number> | undefined;
    const fn: AsyncBatchFunction<number, number> = {
      asyncInvokeBatch() {},
      timeout(_inputs, future) {
        answer = future;
      },
    };
    const harness = batchHarness(fn, { maxBatchSize: 1, deadline: 40 }, clock);
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(79);
    answer?.complete([-1]);
    await harness.setProcessingTime(200);
    expect(harness.getTimedOutput()).toEqual([{ time: 79, value: -1 }]);
    expect(harness.failure).toBeUndefined();
  });
});

describe('retries', () => {
  it('the deadline bounds all attempts', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const { service, harness } = serviceHarness(
      { maxBatchSize: 1, deadline: 100, retry: retryAlways(10, 30), onFailure: { deadLetter: letters } },
      { latency: { baseMs: 10, perItemMs: 0 }, failRecords: () => true },
    );
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(1_000);
    // Attempts at 0, 40 and 80; the one after would start at 120, past the deadline at 100.
    expect(service.calls.map((c) => c.queuedAt)).toEqual([0, 40, 80]);
    expect(harness.getSideOutput(letters).map((l) => l.attempts)).toEqual([3]);
  });

  it('at end of input retries go at once, still within the deadline', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const { service, harness } = serviceHarness(
      { maxBatchSize: 1, deadline: 35, retry: retryAlways(10, 30), onFailure: { deadLetter: letters } },
      { latency: { baseMs: 10, perItemMs: 0 }, failRecords: () => true },
    );
    await harness.open();
    harness.processElement(1);
    await harness.endInput();
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'error'],
      [10, 'error'],
      [20, 'error'],
      [30, 'aborted'], // the deadline at 35 cut it short
    ]);
    expect(harness.getSideOutput(letters).map((l) => [l.attempts, (l.error as Error).message])).toEqual([[4, 'deadline of 35 ms for all attempts exceeded']]);
  });

  it('the deadline aborts an attempt in flight', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, timeout: 1_000, deadline: 100, retry: retryAlways(5) });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(100);
    expect((calls.call(0).ctx.signal.reason as AsyncTimeoutError).kind).toBe('deadline');
    expect(calls.calls).toHaveLength(1);
    expect((harness.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: deadline of 100 ms for all attempts exceeded');
  });

  it('exponential backoff grows by the multiplier up to the cap', async () => {
    const { service, harness } = serviceHarness(
      { maxBatchSize: 1, retry: RetryStrategies.exponentialBackoff({ maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 50 }) },
      { failCalls: [1, 2, 3, 4] },
    );
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(1_000);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([0, 10, 30, 70, 120]);
    expect(harness.getOutput()).toEqual([10]);
    expect(metric(harness, 'retries')).toBe(4);
  });

  it('jitter draws the wait from [d * (1 - jitter), d], reproducibly with a seed', () => {
    const fixed = RetryStrategies.exponentialBackoff({ maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5, random: () => 0.5 });
    expect([1, 2, 3, 4, 5].map((a) => fixed.backoff(a))).toEqual([75, 150, 300, 600, 750]);
    const a = RetryStrategies.exponentialBackoff({ maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 1, seed: 42 });
    const b = RetryStrategies.exponentialBackoff({ maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 1, seed: 42 });
    const delays = range(1, 8).map((n) => a.backoff(n));
    expect(range(1, 8).map((n) => b.backoff(n))).toEqual(delays);
    delays.forEach((d, i) => {
      const cap = Math.min(1_000, 100 * 2 ** i);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(cap);
    });
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it.each([Number.NaN, -40, Number.POSITIVE_INFINITY, '10'])('a custom backoff() returning %s fails naming backoff(), not dropping or rushing the retries', async (wait) => {
    const { service, harness } = serviceHarness(
      { maxBatchSize: 2, retry: { maxAttempts: 3, backoff: () => wait as number, retryOnError: () => true, retryOnResult: () => false } },
      { latency: { baseMs: 10, perItemMs: 0 }, failCalls: [1] },
    );
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(100);
    expect(service.calls).toHaveLength(1);
    expect((harness.failure as Error).message).toBe(
      `option 'retry': backoff(1) must return a finite number of milliseconds >= 0, got ${typeof wait === 'string' ? `'${wait}'` : wait}`,
    );
  });

  it.each([undefined, 5, -1, 1, Number.NaN])("exponentialBackoff fails naming 'random' when it returns %s, outside [0, 1)", async (value) => {
    const strategy = (): ReturnType<typeof RetryStrategies.exponentialBackoff> =>
      RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10, jitter: 1, random: () => value as number });
    const message = `RetryStrategies.exponentialBackoff(): option 'random' must return a number in [0, 1), got ${value}`;
    expect(() => strategy().backoff(1)).toThrow(message);
    // In a job: the batch fails with that message instead of being given up after 1 attempt.
    const { harness } = serviceHarness({ maxBatchSize: 2, retry: strategy() }, { latency: { baseMs: 10, perItemMs: 0 }, failCalls: [1] });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(100);
    expect((harness.failure as Error).message).toBe(message);
  });

  it('retryOnError decides which errors are retried; retryable === false is never retried', async () => {
    const failures: Error[] = [new Error('transient'), Object.assign(new Error('bad input'), { retryable: false })];
    const seen: number[] = [];
    const harness = batchHarness<number, number>(
      (xs, { attempt }) => {
        seen.push(attempt);
        const failure = failures.shift();
        return failure === undefined ? Promise.resolve(xs) : Promise.reject(failure);
      },
      { maxBatchSize: 1, retry: RetryStrategies.fixedDelay({ maxAttempts: 5, delayMs: 1, retryOnError: (e) => e instanceof Error }) },
    );
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(10);
    expect(seen).toEqual([1, 2]);
    expect((harness.failure as Error).message).toBe('a batch of 1 record failed after 2 attempts: bad input');
  });

  it('a predicate that rejects an error sends the batch to the failure policy at once', async () => {
    const { service, harness } = serviceHarness(
      { maxBatchSize: 1, retry: RetryStrategies.fixedDelay({ maxAttempts: 5, delayMs: 1, retryOnError: () => false }) },
      { failCalls: [1] },
    );
    await harness.open();
    harness.processElement(1);
    await harness.drain();
    expect(service.calls).toHaveLength(1);
    expect(harness.failure).toBeDefined();
  });

  it('NonRetryableError skips retries', async () => {
    let calls = 0;
    const harness = batchHarness<number, number>(
      () => {
        calls++;
        return Promise.reject(new NonRetryableError('400'));
      },
      { maxBatchSize: 1, retry: retryAlways(5) },
    );
    await harness.open();
    harness.processElement(1);
    await harness.drain();
    expect(calls).toBe(1);
  });

  it('retryOnResult retries a result, and emits the last one once attempts run out', async () => {
    const answers = [[], [], ['third']];
    const harness = batchHarness<number, string>(() => Promise.resolve(answers.shift() ?? []), {
      maxBatchSize: 1,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 5, retryOnResult: (out) => out.length === 0 }),
    });
    await harness.open();
    harness.processElement(1);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['third']);

    const never = batchHarness<number, string>(() => Promise.resolve([]), {
      maxBatchSize: 1,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 5, retryOnResult: () => true }),
    });
    await never.open();
    never.processElement(1);
    await never.endInput();
    expect(never.getOutput()).toEqual([]);
    expect(metric(never, 'batches')).toBe(2);
  });
});

describe('per-item results', () => {
  /** A per-item service (10 ms a call, outputs x * 10) whose items matching `failsFirst` fail their first time. */
  function flakyItems(clock: ManualClock, failsFirst: (x: number) => boolean): FakeBatchService<number, number> {
    const failedOnce = new Set<number>();
    return new FakeBatchService<number, number>({
      clock,
      handler: (xs) => xs.map((x) => x * 10),
      latency: { baseMs: 10, perItemMs: 0 },
      failItems: (x) => failsFirst(x) && !failedOnce.has(x) && (failedOnce.add(x), true),
    });
  }

  it('retries only the failed items, in a later batch', async () => {
    const clock = new ManualClock(0);
    const service = flakyItems(clock, (x) => x % 3 === 0);
    const harness = batchHarness<number, number>((xs, { signal }) => service.callPerItem(xs, { signal }), {
      maxBatchSize: 6,
      resultMode: 'per-item',
      retry: retryAlways(3, 100),
    }, clock);
    await harness.open();
    harness.processElements(range(1, 6));
    await harness.endInput();
    expect(service.calls.map((c) => [c.queuedAt, c.inputs])).toEqual([
      [0, [1, 2, 3, 4, 5, 6]],
      [10, [3, 6]], // end of input fires the retry at once
    ]);
    expect(harness.getOutput()).toEqual([10, 20, 40, 50, 30, 60]);
    expect(metric(harness, 'failedItems')).toBe(2);
    expect(metric(harness, 'retries')).toBe(1);
  });

  it('a retry without delay takes the freed slot before the next ready batch', async () => {
    const clock = new ManualClock(0);
    const service = flakyItems(clock, (x) => x === 1);
    const harness = batchHarness<number, number>((xs, { signal }) => service.callPerItem(xs, { signal }), {
      maxBatchSize: 2,
      maxInFlightBatches: 1,
      resultMode: 'per-item',
      retry: retryAlways(3, 0),
    }, clock);
    await harness.open();
    harness.processChunk([1, 2, 3, 4]);
    await harness.endInput();
    expect(service.calls.map((c) => c.inputs)).toEqual([[1, 2], [1], [3, 4]]);
  });

  it('items that exhaust their retries go to the dead-letter output with their own error', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => xs.map((x) => x * 10), failItems: (x) => x === 2 || x === 4 });
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const harness = batchHarness<number, number>((xs, { signal }) => service.callPerItem(xs, { signal }), {
      maxBatchSize: 5,
      resultMode: 'per-item',
      retry: retryAlways(2, 10),
      onFailure: { deadLetter: letters },
    }, clock);
    await harness.open();
    harness.processElements(range(1, 5));
    await harness.endInput();
    expect(harness.getOutput()).toEqual([10, 30, 50]);
    const dead = harness.getSideOutput(letters);
    expect(dead.map((d) => [d.input, d.attempts, (d.error as Error).message])).toEqual([
      [2, 2, 'FakeBatchService call #2: item 0 (2) failed (failItems)'],
      [4, 2, 'FakeBatchService call #2: item 1 (4) failed (failItems)'],
    ]);
    expect(metric(harness, 'deadLettered')).toBe(2);
  });

  it('a response of the wrong length fails the batch with a clear message', async () => {
    const harness = batchHarness<number, number>(() => Promise.resolve([1]), { maxBatchSize: 2, resultMode: 'per-item' });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.drain();
    expect((harness.failure as Error).message).toBe(
      'a batch of 2 records failed after 1 attempt: in per-item mode the batch function must return one output per input: got 1 outputs for 2 inputs',
    );
  });
});

describe('failure policies', () => {
  it('fallback supplies the outputs of records that failed', async () => {
    const { harness } = serviceHarness({ maxBatchSize: 2, onFailure: { fallback: (x, e) => [-x, String(e).length > 0 ? -1 : 0] } }, { failCalls: [2] });
    await harness.open();
    harness.processElements(range(1, 4));
    await harness.endInput();
    expect(harness.getOutput()).toEqual([10, 20, -3, -1, -4, -1]);
  });

  it('a fallback that throws fails the job', async () => {
    const { harness } = serviceHarness(
      {
        maxBatchSize: 1,
        onFailure: {
          fallback: () => {
            throw new Error('no fallback for you');
          },
        },
      },
      { failCalls: [1] },
    );
    await harness.open();
    harness.processElement(1);
    await harness.drain();
    expect((harness.failure as Error).message).toBe('no fallback for you');
  });

  it("'fail' fails the job and ends the operator's wait: endInput never hangs", async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, maxInFlightBatches: 2, retry: retryAlways(3, 1_000) });
    await harness.open();
    harness.processElements([1, 2]);
    const end = harness.operator.endInput?.();
    await harness.drain();
    calls.call(0).reject(new NonRetryableError('poison'));
    await end; // resolves although call 1 never completes
    expect((harness.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: poison');
    expect(calls.call(1).ctx.signal.aborted).toBe(true);
    expect(harness.numProcessingTimeTimers()).toBe(0);
  });

  it.each([
    { mode: 'collect', options: {} },
    { mode: 'per-item', options: { resultMode: 'per-item' as const } },
  ])('a batch completing while the next one fails the job at once emits nothing after the failure ($mode)', async ({ options }) => {
    const pending = new ControlledCalls<number, number>();
    const harness = batchHarness<number, number>(
      (inputs, ctx) => {
        if (inputs[0] === 2) throw new Error('model down'); // the next batch fails synchronously
        return pending.fn(inputs, ctx);
      },
      { maxBatchSize: 1, maxInFlightBatches: 1, ...options },
    );
    await harness.open();
    harness.processElements([1, 2]);
    pending.call(0).resolve([10]); // its freed slot takes [2] first, which stops the operator
    await harness.drain();
    expect((harness.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: model down');
    expect(harness.getOutput()).toEqual([]);
  });

  it('splitOnFailure bisects a failing batch so only the poison record reaches the policy', async () => {
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const { service, harness } = serviceHarness(
      { maxBatchSize: 8, splitOnFailure: true, onFailure: { deadLetter: letters } },
      { failRecords: (x) => x === 5 },
    );
    await harness.open();
    harness.processElements(range(1, 8));
    await harness.endInput();
    expect(service.calls.map((c) => c.inputs)).toEqual([range(1, 8), [1, 2, 3, 4], [5, 6, 7, 8], [5, 6], [7, 8], [5], [6]]);
    expect(harness.getSideOutput(letters).map((l) => l.input)).toEqual([5]);
    expect(harness.getOutput().sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 60, 70, 80]);
  });

  it.each([
    ['its retries ran out', { retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 10 }) }],
    ["the service's hint ends past the deadline", { deadline: 500, retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 10 }) }],
  ])('splitOnFailure does not split a batch the service throttled (%s): no halves are sent at once against its hint', async (_, options) => {
    const clock = new ManualClock(0);
    const letters = new OutputTag<DeadLetter<number>>('dead');
    const calls: number[][] = [];
    const harness = batchHarness<number, number>(
      (xs) => {
        calls.push([...xs]);
        return Promise.reject(new ThrottledError('429 slow down', 1_000));
      },
      { maxBatchSize: 8, maxInFlightBatches: 4, splitOnFailure: true, onFailure: { deadLetter: letters }, ...options },
      clock,
    );
    await harness.open();
    harness.processElements(range(1, 8));
    await harness.endInput();
    // One call per attempt, each of all 8 records; a split would have sent 4+4, 2+2+2+2, then eight of 1.
    expect(calls.every((c) => c.length === 8)).toBe(true);
    expect(harness.getSideOutput(letters).map((l) => l.input)).toEqual(range(1, 8));
    expect(harness.getSideOutput(letters).every((l) => l.error instanceof ThrottledError)).toBe(true);
  });

  it('splitOnFailure in ordered mode keeps the order of the halves', async () => {
    const { harness } = serviceHarness(
      { maxBatchSize: 4, splitOnFailure: true, ordering: 'ordered', onFailure: { fallback: () => [0] } },
      { failRecords: (x) => x === 2 },
    );
    await harness.open();
    harness.processElements(range(1, 6));
    await harness.endInput();
    expect(harness.getOutput()).toEqual([10, 0, 30, 40, 50, 60]);
  });
});

describe('cancellation and close', () => {
  it('cancel aborts every in-flight attempt, drops retry timers, and ends the wait', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 100, perItemMs: 0 }, failCalls: [1] });
    const harness = batchHarness<number, number>((xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 2,
      maxInFlightBatches: 3,
      maxBatchDelay: 1_000,
      retry: retryAlways(3, 10_000),
    }, clock);
    await harness.open();
    harness.processElements([1, 2, 3, 4]);
    await harness.setProcessingTime(100); // call 1 ([1, 2]) failed: retry timer set; call 2 done, so send more
    harness.processElements([5, 6, 7]); // [5, 6] goes; [7] stays open behind the delay timer [1] armed at t=0
    await harness.drain();
    expect(service.inFlight).toBe(1);
    expect(harness.numProcessingTimeTimers()).toBe(2); // the retry of [1, 2] and the delay timer
    harness.cancel();
    await harness.drain();
    expect(service.calls.filter((c) => c.outcome === 'aborted').map((c) => c.inputs)).toEqual([[5, 6]]);
    expect(service.inFlight).toBe(0);
    expect(harness.numProcessingTimeTimers()).toBe(0);
    await harness.setProcessingTime(100_000);
    expect(service.calls).toHaveLength(3);
  });

  it('cancel while end of input waits ends the wait', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, maxInFlightBatches: 2 });
    await harness.open();
    harness.processElements([1, 2]);
    const end = harness.operator.endInput?.();
    await harness.drain();
    harness.cancel();
    await end;
    expect(calls.calls.map((c) => c.ctx.signal.aborted)).toEqual([true, true]);
  });

  it('close aborts running calls and clears timers without waiting for them', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxBatchDelay: 50, timeout: 1_000 });
    await harness.open();
    harness.processElements([1, 2, 3]);
    await harness.drain();
    await harness.close();
    expect(calls.call(0).ctx.signal.aborted).toBe(true);
    expect(harness.numProcessingTimeTimers()).toBe(0);
    calls.call(0).resolve([10, 20]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]);
  });

  it('opens and closes an object function once per subtask, with its own fields', async () => {
    const log: string[] = [];
    const fn: AsyncBatchFunction<number, string> & { prefix?: string } = {
      open(ctx) {
        this.prefix = `s${ctx.subtaskIndex}`;
        log.push('open');
      },
      asyncInvokeBatch(inputs, future) {
        future.complete(inputs.map((x) => `${this.prefix}:${x}`));
      },
      close() {
        log.push('close');
      },
    };
    const harness = batchHarness(fn, { maxBatchSize: 2 });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.endInput();
    await harness.close();
    expect(harness.getOutput()).toEqual(['s0:1', 's0:2']);
    expect(log).toEqual(['open', 'close']);
    expect(fn.prefix).toBeUndefined();
  });
});
