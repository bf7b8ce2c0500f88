// Flink's AsyncWaitOperatorTest, ported: the tests about retries and timeouts
// of the per-record operator (`unorderedWait`/`orderedWait`), each named after
// the Flink test it follows, under a ManualClock instead of threads and sleeps.
// The last two groups pin the two places where Flink's AsyncWaitOperator
// differs from our batch operators: a retry whose delay would cross the
// record's timeout, and retries at end of input.
import { describe, expect, it } from 'vitest';
import { OutputTag } from '@tributary/core';
import { ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import {
  AsyncTimeoutError,
  RetryStrategies,
  ThrottledError,
  asyncWaitOperatorFactory,
  type AsyncFunction,
  type AsyncWaitOptions,
  type DeadLetter,
  type ResultFuture,
} from '../src/index.js';

/** Flink's `TIMEOUT` of the test class. */
const TIMEOUT = 1_000;
const MODES = ['ordered', 'unordered'] as const;
type Mode = (typeof MODES)[number];

function harness<TOut>(
  fn: AsyncFunction<number, TOut>,
  options: AsyncWaitOptions<number, TOut> & { ordering: Mode },
  clock: ManualClock,
): OneInputOperatorHarness<number, TOut> {
  return new OneInputOperatorHarness<number, TOut>(asyncWaitOperatorFactory(fn, options), { clock, name: 'AsyncWaitOperator' });
}

/** Flink's `emptyResultFixedDelayRetryStrategy`: 2 attempts, 10 ms apart, when the result is empty. */
const emptyResultFixedDelayRetryStrategy = RetryStrategies.fixedDelay<number>({
  maxAttempts: 2,
  delayMs: 10,
  retryOnError: () => false,
  retryOnResult: (outputs) => outputs.length === 0,
});

/** Flink's `exceptionRetryStrategy` with its own attempts and delay. */
const exceptionRetryStrategy = (maxAttempts: number, delayMs: number) =>
  RetryStrategies.fixedDelay<number>({ maxAttempts, delayMs, retryOnError: () => true });

/** Counts the attempts per input, as Flink's `getTryCount`. */
class Tries {
  private readonly counts = new Map<number, number>();
  add(input: number): void {
    this.counts.set(input, (this.counts.get(input) ?? 0) + 1);
  }
  of(input: number): number {
    return this.counts.get(input) ?? 0;
  }
}

/**
 * Flink's `OddInputEmptyResultAsyncFunction` (and, with `repeat`, its
 * `IllWrittenOddInputEmptyResultAsyncFunction`): after 3 ms, odd inputs get an
 * empty result (completed `repeat` times), even ones their double.
 */
function oddInputEmptyResult(clock: ManualClock, tries: Tries, repeat = 1): AsyncFunction<number, number> {
  return {
    asyncInvoke(input, resultFuture) {
      tries.add(input);
      clock.schedule(clock.now() + 3, () => {
        if (input % 2 === 1) for (let i = 0; i < repeat; i++) resultFuture.complete([]);
        else resultFuture.complete([input * 2]);
      });
    },
  };
}

/** Sorted in unordered mode, as Flink's `assertOutputEqualsSorted`. */
function outputOf(h: OneInputOperatorHarness<number, number>, mode: Mode): number[] {
  const out = h.getOutput();
  return mode === 'ordered' ? out : out.sort((a, b) => a - b);
}

describe.each(MODES)('AsyncWaitOperatorTest (%s)', (mode) => {
  const Mode = mode === 'ordered' ? 'Ordered' : 'Unordered';

  it.each([
    [`testProcessingTime${Mode}WithRetry`, 1],
    [`testProcessingTimeRepeatedComplete${Mode}WithRetry`, 10],
  ])('%s', async (_, repeat) => {
    const clock = new ManualClock(0);
    const tries = new Tries();
    const h = harness(oddInputEmptyResult(clock, tries, repeat), { ordering: mode, timeout: TIMEOUT, capacity: 6, retry: emptyResultFixedDelayRetryStrategy }, clock);
    await h.open();
    h.processElements([1, 2, 3, 4, 5, 6]);
    await h.setProcessingTime(100);
    expect(outputOf(h, mode)).toEqual([4, 8, 12]);
    // Odd inputs: an empty result at 3, the retry at 13 is empty again and is emitted (as nothing).
    expect([1, 2, 3, 4, 5, 6].map((x) => tries.of(x))).toEqual([2, 1, 2, 1, 2, 1]);
    await h.endInput();
    expect(h.failure).toBeUndefined();
  });

  it(`testProcessingTimeWithTimeoutFunction${Mode}WithRetry`, async () => {
    // Flink's AlwaysTimeoutWithDefaultValueAsyncFunction: every attempt fails after 501 ms; timeout() answers -1.
    const clock = new ManualClock(0);
    const tries = new Tries();
    const fn: AsyncFunction<number, number> = {
      asyncInvoke(input, resultFuture) {
        tries.add(input);
        clock.schedule(clock.now() + 501, () => resultFuture.completeExceptionally(new Error('Dummy error')));
      },
      timeout(_input, resultFuture) {
        resultFuture.complete([-1]);
      },
    };
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, capacity: 10, retry: exceptionRetryStrategy(5, 100) }, clock);
    await h.open();
    h.processElements([1, 2]);
    await h.setProcessingTime(TIMEOUT);
    // Attempts at 0 and 601; the second is cut by the timeout at 1000 (Flink checks "at most 2").
    expect(h.getTimedOutput()).toEqual([
      { time: TIMEOUT, value: -1 },
      { time: TIMEOUT, value: -1 },
    ]);
    expect([tries.of(1), tries.of(2)]).toEqual([2, 2]);
  });
});

/** Fails every attempt `failAfter` ms after it starts; records the start of each attempt. */
function alwaysFailing(clock: ManualClock, failAfter: number, withTimeoutHook: boolean): { fn: AsyncFunction<number, number>; starts: [number, number][] } {
  const starts: [number, number][] = [];
  const fn: AsyncFunction<number, number> = {
    asyncInvoke(input, resultFuture) {
      starts.push([input, clock.now()]);
      clock.schedule(clock.now() + failAfter, () => resultFuture.completeExceptionally(new Error(`attempt failed for ${input}`)));
    },
  };
  if (withTimeoutHook) {
    fn.timeout = (input: number, resultFuture: ResultFuture<number>) => resultFuture.complete([-input]);
  }
  return { fn, starts };
}

describe.each(MODES)('a retry whose delay would cross the timeout waits for it, as in Flink (%s)', (mode) => {
  const Mode = mode === 'ordered' ? 'Ordered' : 'Unordered';

  it(`testProcessingTimeWithRetryTimeoutBeforeDelayedRetry${Mode}: the timeout() hook decides`, async () => {
    const clock = new ManualClock(0);
    const { fn, starts } = alwaysFailing(clock, 950, true);
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, retry: exceptionRetryStrategy(5, 100) }, clock);
    await h.open();
    h.processElement(7);
    // The attempt fails at 950; its retry would start at 1050, past the timeout at 1000.
    await h.setProcessingTime(999);
    expect(h.getOutput()).toEqual([]);
    expect(h.failure).toBeUndefined();
    await h.setProcessingTime(TIMEOUT);
    expect(h.getTimedOutput()).toEqual([{ time: TIMEOUT, value: -7 }]);
    expect(starts).toEqual([[7, 0]]);
    await h.endInput();
    expect(starts).toEqual([[7, 0]]);
  });

  it(`testProcessingTimeWithRetryTimeoutBeforeDelayedRetry${Mode}: without a hook the record times out, not with the attempt's error`, async () => {
    const clock = new ManualClock(0);
    const { fn } = alwaysFailing(clock, 950, false);
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, retry: exceptionRetryStrategy(5, 100) }, clock);
    await h.open();
    h.processElement(7);
    await h.setProcessingTime(999);
    expect(h.failure).toBeUndefined();
    await h.setProcessingTime(TIMEOUT);
    expect((h.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: deadline of 1000 ms for all attempts exceeded');
  });

  it(`testProcessingTimeWithRetryTimeoutBeforeDelayedRetry${Mode}: a dead letter carries the timeout`, async () => {
    const clock = new ManualClock(0);
    const { fn } = alwaysFailing(clock, 950, false);
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, retry: exceptionRetryStrategy(5, 100), onFailure: { deadLetter: dead } }, clock);
    await h.open();
    h.processElements([7, 8]);
    await h.setProcessingTime(TIMEOUT);
    const letters = h.getSideOutput(dead);
    expect(letters.map((l) => [l.input, l.attempts, l.error instanceof AsyncTimeoutError && l.error.kind])).toEqual([
      [7, 1, 'deadline'],
      [8, 1, 'deadline'],
    ]);
  });
});

describe.each(MODES)('at end of input each waiting retry fires once, and nothing is retried again, as in Flink (%s)', (mode) => {
  const Mode = mode === 'ordered' ? 'Ordered' : 'Unordered';

  it(`testProcessingTimeWithRetryAtEndInput${Mode}`, async () => {
    const clock = new ManualClock(0);
    const { fn, starts } = alwaysFailing(clock, 10, false);
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, retry: exceptionRetryStrategy(5, 100), onFailure: { deadLetter: dead } }, clock);
    await h.open();
    h.processElement(1); // fails at 10, its retry waits until 110
    await h.setProcessingTime(50);
    h.processElement(2); // in flight at end of input, fails at 60
    await h.endInput();
    // 1's waiting retry fires at once at 50 and is its last attempt; 2's failure at 60 is final.
    expect(starts).toEqual([
      [1, 0],
      [2, 50],
      [1, 50],
    ]);
    expect(h.getSideOutput(dead).map((l) => [l.input, l.attempts, (l.error as Error).message])).toEqual([
      [2, 1, 'attempt failed for 2'],
      [1, 2, 'attempt failed for 1'],
    ]);
    expect(clock.now()).toBe(60);
  });

  it(`testProcessingTimeWithRetryAtEndInput${Mode}: a retry waiting for the timeout fires once too`, async () => {
    const clock = new ManualClock(0);
    const { fn, starts } = alwaysFailing(clock, 950, true);
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, retry: exceptionRetryStrategy(5, 100) }, clock);
    await h.open();
    h.processElement(7);
    await h.setProcessingTime(960); // failed at 950; waits for the timeout at 1000
    await h.endInput();
    // Fired at 960, cut by the timeout at 1000: the hook answers.
    expect(starts).toEqual([
      [7, 0],
      [7, 960],
    ]);
    expect(h.getTimedOutput()).toEqual([{ time: TIMEOUT, value: -7 }]);
  });

  it(`testProcessingTimeWithRetryAtEndInput${Mode}: a retry waiting for a retry-after hint keeps its wait, then is the last attempt`, async () => {
    const clock = new ManualClock(0);
    const starts: number[] = [];
    const fn: AsyncFunction<number, number> = {
      asyncInvoke(_input, resultFuture) {
        starts.push(clock.now());
        clock.schedule(clock.now() + 10, () => resultFuture.completeExceptionally(new ThrottledError('slow down', 200)));
      },
    };
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const h = harness(fn, { ordering: mode, timeout: TIMEOUT, retry: exceptionRetryStrategy(5, 100), onFailure: { deadLetter: dead } }, clock);
    await h.open();
    h.processElement(1);
    await h.setProcessingTime(50); // throttled at 10: the retry waits until 210
    await h.endInput();
    expect(starts).toEqual([0, 210]);
    expect(h.getSideOutput(dead).map((l) => l.attempts)).toEqual([2]);
  });
});
