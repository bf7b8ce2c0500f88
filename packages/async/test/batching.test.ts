import { describe, expect, it } from 'vitest';
import { FakeBatchService, ManualClock } from '@tributary/testing';
import { expectBatches, expectNoEmptyBatches } from '@tributary/testing/vitest';
import { RetryStrategies } from '../src/index.js';
import { ControlledCalls, batchHarness, metric, range, serviceHarness } from './helpers.js';

// Behaviour tests ported from FLINK-38825's AsyncBatchWaitOperatorTest (unordered), then ours.
describe('batch triggers (FLINK-38825 list)', () => {
  it('size trigger: 5 records with maxBatchSize 3 make batches [3, 2], the last at end of input', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 3 });
    await harness.open();
    harness.processElements(range(1, 5));
    await harness.drain();
    expectBatches(service, [[1, 2, 3]]);
    await harness.endInput();
    expectBatches(service, [
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('emits the results of every batch', async () => {
    const { harness } = serviceHarness({ maxBatchSize: 3 });
    await harness.open();
    harness.processElements(range(1, 7));
    await harness.endInput();
    expect(harness.getOutput().sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50, 60, 70]);
  });

  it('propagates an exception of the batch function: the job fails naming the operator and the batch', async () => {
    const harness = batchHarness<number, number>(
      () => Promise.reject(new Error('model exploded')),
      { maxBatchSize: 2 },
    );
    await harness.open();
    harness.processElements([1, 2]);
    await harness.drain();
    const failure = harness.failure as Error;
    expect(failure.message).toBe('a batch of 2 records failed after 1 attempt: model exploded');
    expect(harness.signal.aborted).toBe(true);
  });

  it('propagates a synchronous throw of the batch function the same way', async () => {
    const harness = batchHarness<number, number>(
      () => {
        throw new Error('bad request');
      },
      { maxBatchSize: 1 },
    );
    await harness.open();
    harness.processElement(1);
    expect((harness.failure as Error).message).toBe('a batch of 1 record failed after 1 attempt: bad request');
  });

  it('async completion: nothing is emitted until the call completes', async () => {
    const calls = new ControlledCalls<number, string>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2 });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.drain();
    expect(calls.batches()).toEqual([[1, 2]]);
    expect(harness.getOutput()).toEqual([]);
    calls.call(0).resolve(['one', 'two']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['one', 'two']);
  });

  it('empty input: no call at all', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 3, maxBatchDelay: 10 });
    await harness.open();
    await harness.endInput();
    expect(service.calls).toHaveLength(0);
    expect(harness.getOutput()).toEqual([]);
  });

  it('variable output size: a batch may return more or fewer outputs than inputs', async () => {
    const harness = batchHarness<number, number>((xs) => Promise.resolve(xs.length === 3 ? [xs.reduce((a, b) => a + b, 0)] : xs.flatMap((x) => [x, x])), {
      maxBatchSize: 3,
    });
    await harness.open();
    harness.processElements([1, 2, 3, 4, 5]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([6, 4, 4, 5, 5]);
  });

  it('single-element batches with maxBatchSize 1', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 1, maxInFlightBatches: 3 });
    await harness.open();
    harness.processElements([7, 8, 9]);
    await harness.endInput();
    expectBatches(service, [[7], [8], [9]]);
  });

  it('time trigger: size 10, delay 50, one record at 0 is sent at 50 (seen at 51) as [1]', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 10, maxBatchDelay: 50 });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(49);
    expect(service.calls).toHaveLength(0);
    await harness.setProcessingTime(51);
    expectBatches(service, [[1]]);
    expect(service.calls[0]?.queuedAt).toBe(50);
  });

  it('size beats time: a full batch goes at once and its timer, left armed, sends nothing', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 2, maxBatchDelay: 50 });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.drain();
    expectBatches(service, [[1, 2]]);
    expect(service.calls[0]?.queuedAt).toBe(0);
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(100);
    expect(service.calls).toHaveLength(1);
    expect(harness.numProcessingTimeTimers()).toBe(0);
  });

  it('a run of full batches arms one delay timer, which re-arms for the open batch instead of sending it early', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 2, maxBatchDelay: 50 });
    await harness.open();
    harness.processElements(range(1, 20)); // ten full batches at t=0
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(30);
    harness.processElement(21); // open batch, due at 80
    await harness.setProcessingTime(50); // the t=0 timer fires: 21's deadline has not come
    expect(service.calls).toHaveLength(10);
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(79);
    expect(service.calls).toHaveLength(10);
    await harness.setProcessingTime(80);
    expect(service.calls.map((c) => c.queuedAt).slice(9)).toEqual([0, 80]);
    expect(service.calls.at(-1)?.inputs).toEqual([21]);
    expect(harness.numProcessingTimeTimers()).toBe(0);
  });

  it('timer reset after flush: the next batch waits its full delay from its own first record', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 10, maxBatchDelay: 50 });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(50);
    await harness.setProcessingTime(60);
    harness.processElement(2);
    await harness.setProcessingTime(109);
    expectBatches(service, [[1]]);
    await harness.setProcessingTime(110);
    expectBatches(service, [[1], [2]]);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([50, 110]);
  });

  it('mixed size and time triggers', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 3, maxBatchDelay: 50 });
    await harness.open();
    harness.processElements([1, 2, 3]); // size, t=0
    await harness.setProcessingTime(10);
    harness.processElement(4); // timer due at 60
    await harness.setProcessingTime(60);
    await harness.setProcessingTime(70);
    harness.processElements([5, 6, 7]); // size, t=70
    await harness.setProcessingTime(80);
    harness.processElement(8);
    await harness.endInput(); // end of input before its timer
    expectBatches(service, [[1, 2, 3], [4], [5, 6, 7], [8]]);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([0, 60, 70, 80]);
  });

  it('delay disabled (0 or absent): only size and end of input send a batch, and no timer is set', async () => {
    for (const maxBatchDelay of [0, undefined]) {
      const { service, harness } = serviceHarness({ maxBatchSize: 3, maxBatchDelay });
      await harness.open();
      harness.processElements([1, 2, 3, 4]);
      expect(harness.numProcessingTimeTimers()).toBe(0);
      await harness.setProcessingTime(1_000_000);
      expectBatches(service, [[1, 2, 3]]);
      await harness.endInput();
      expectBatches(service, [[1, 2, 3], [4]]);
    }
  });
});

describe('batch triggers (ours)', () => {
  it('records handed over in chunks form the same batches, at the same times, as one by one', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 3, maxBatchDelay: 50 });
    await harness.open();
    harness.processElement(1);
    await harness.setProcessingTime(10);
    harness.processChunk([2, 3, 4, 5, 6, 7, 8]); // fills [1, 2, 3], sends [4, 5, 6], opens [7, 8] at 10
    await harness.setProcessingTime(59);
    expectBatches(service, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    await harness.setProcessingTime(60);
    harness.processChunk([9, 10]);
    await harness.endInput();
    expectBatches(service, [[1, 2, 3], [4, 5, 6], [7, 8], [9, 10]]);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([10, 10, 60, 60]);
  });

  it('a chunk arms the delay timer only for the batch it leaves open, due from that batch\'s first record', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 2, maxBatchDelay: 50 });
    await harness.open();
    harness.processChunk([1, 2, 3, 4]); // two full batches: nothing left to time
    expect(harness.numProcessingTimeTimers()).toBe(0);
    await harness.setProcessingTime(10);
    harness.processChunk([5, 6, 7]); // [5, 6] goes, [7] stays open from t=10
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(59);
    expect(service.calls).toHaveLength(3);
    await harness.setProcessingTime(60);
    expectBatches(service, [[1, 2], [3, 4], [5, 6], [7]]);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([0, 0, 10, 60]);
  });

  it.each([
    { path: 'whole chunk', options: { maxBatchSize: 2, maxBatchDelay: 50 }, sent: [[1, 2]] },
    // Slots are free for [3, 4], but a failure waiting in the mailbox lets no call start.
    { path: 'whole chunk, four call slots', options: { maxBatchSize: 2, maxBatchDelay: 50, maxInFlightBatches: 4 }, sent: [[1, 2]] },
    // Record by record: record 1 leaves its batch open (a timer), record 2 closes it by weight.
    { path: 'record by record (weigher)', options: { maxBatchSize: 10, maxBatchDelay: 50, maxBatchWeight: 1.5, weigher: () => 1 }, sent: [[1]] },
  ])('a batch that fails the job in the middle of a chunk leaves the rest of the chunk alone: no more calls, no timer ($path)', async ({ options, sent }) => {
    const calls: number[][] = [];
    const harness = batchHarness<number, number>((inputs) => {
      calls.push([...inputs]);
      throw new Error('model down');
    }, options);
    await harness.open();
    harness.processChunk([1, 2, 3, 4, 5]);
    expect(calls).toEqual(sent);
    expect(harness.failure).toBeDefined();
    expect(harness.numProcessingTimeTimers()).toBe(0);
  });

  it('a retry found past its deadline as a chunk closes a batch fails the job out of that chunk: the rest of it opens no batch and arms no timer', async () => {
    const calls: number[][] = [];
    const harness = batchHarness<number, number>(
      (inputs) => {
        calls.push([...inputs]);
        return Promise.reject(new Error('model down'));
      },
      // One call a second: the retry of [1, 2], due at 10, waits for the rate limit past its deadline at 100.
      { maxBatchSize: 2, maxBatchDelay: 50, deadline: 100, rateLimit: { requestsPerSecond: 1 }, retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 10 }) },
    );
    await harness.open();
    harness.processChunk([1, 2]);
    await harness.setProcessingTime(150);
    expect(harness.failure).toBeUndefined();
    // [3, 4] closes and goes in line behind the retry, which is past its deadline: the job fails here, before 5.
    expect(() => harness.processChunk([3, 4, 5])).toThrow('a batch of 2 records failed after 1 attempt: deadline of 100 ms for all attempts exceeded');
    expect((harness.failure as Error).message).toBe('a batch of 2 records failed after 1 attempt: deadline of 100 ms for all attempts exceeded');
    expect(harness.numProcessingTimeTimers()).toBe(0);
    expect(metric(harness, 'bufferedRecords')).toBe(0);
    // The failed harness takes no more time; the clock itself still moves, and nothing runs.
    await expect(harness.setProcessingTime(2_000)).rejects.toThrow(/setProcessingTime\(\) after the task failed/);
    await harness.clock.setTime(2_000);
    expect(calls).toEqual([[1, 2]]);
  });

  it('a chunk forms the batches its records would one by one, also when a batch completes synchronously mid-chunk', async () => {
    const batchesOf = async (feed: (h: ReturnType<typeof batchHarness<string, string>>) => void): Promise<string[][]> => {
      const calls: string[][] = [];
      const harness = batchHarness<string, string>(
        (inputs) => {
          calls.push([...inputs]);
          return inputs;
        },
        { maxBatchSize: 2, capacity: 4, batchKey: (s) => s[0], ordering: 'ordered' },
      );
      await harness.open();
      feed(harness);
      await harness.endInput();
      return calls;
    };
    const input = ['a1', 'b1', 'b2', 'a2'];
    const oneByOne = await batchesOf((h) => h.processElements(input));
    expect(oneByOne).toEqual([
      ['b1', 'b2'],
      ['a1', 'a2'],
    ]);
    expect(await batchesOf((h) => h.processChunk(input))).toEqual(oneByOne);
  });

  it('in chunks, weight budgets and batch keys apply record by record', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 10, maxBatchWeight: 5, weigher: (x: number) => x, batchKey: (x: number) => x % 2 });
    await harness.open();
    harness.processChunk([1, 2, 3, 4, 5, 7]);
    await harness.endInput();
    expectBatches(service, [[2], [1, 3], [5], [7], [4]]);
  });

  it('a timer left from a flushed batch never flushes the next batch early', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 3, maxBatchDelay: 50 });
    await harness.open();
    harness.processElements([1, 2, 3]); // full at t=0; its timer (due 50) is stale now
    await harness.setProcessingTime(40);
    harness.processElement(4); // a new batch, due at 90
    await harness.setProcessingTime(50);
    await harness.setProcessingTime(89);
    expectBatches(service, [[1, 2, 3]]);
    await harness.setProcessingTime(90);
    expectBatches(service, [[1, 2, 3], [4]]);
    expect(service.calls[1]?.queuedAt).toBe(90);
  });

  it('a stale timer does not flush early even when the batch was flushed by its own timer first', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 2, maxBatchDelay: 50 });
    await harness.open();
    harness.processElement(1); // due 50
    await harness.setProcessingTime(50); // [1] by time
    harness.processElement(2); // due 100, same batch object reused
    harness.processElement(3); // full -> [2, 3] at 50
    await harness.setProcessingTime(60);
    harness.processElement(4); // due 110
    await harness.setProcessingTime(100); // the timer of [2, 3] was due here
    expectBatches(service, [[1], [2, 3]]);
    await harness.setProcessingTime(110);
    expectBatches(service, [[1], [2, 3], [4]]);
  });

  it('weight budget: a batch closes before it would exceed maxBatchWeight; a heavier record travels alone', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, number>({ clock, handler: (xs) => xs.map((x) => x.length) });
    const harness = batchHarness<string, number>((xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 100,
      maxBatchWeight: 10,
      weigher: (s) => s.length,
    }, clock);
    await harness.open();
    harness.processElements(['aaaa', 'bbbb', 'ccc', 'heavy-record', 'dd', 'eeeeeeee']);
    await harness.endInput();
    expectBatches(service, [['aaaa', 'bbbb'], ['ccc'], ['heavy-record'], ['dd', 'eeeeeeee']]);
  });

  it('weight budget: a batch that reaches the budget exactly goes at once', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, number>({ clock, handler: (xs) => xs.map((x) => x.length) });
    const harness = batchHarness<string, number>((xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 100,
      maxBatchWeight: 6,
      weigher: (s) => s.length,
    }, clock);
    await harness.open();
    harness.processElements(['abc', 'def']);
    await harness.drain();
    expectBatches(service, [['abc', 'def']]);
  });

  it('a weigher returning a bad weight fails the job with a clear message', async () => {
    const harness = batchHarness<string, number>(() => Promise.resolve([]), { maxBatchSize: 3, maxBatchWeight: 5, weigher: () => Number.NaN });
    await harness.open();
    expect(() => harness.processElement('x')).toThrow('the weigher returned NaN; weights must be finite numbers >= 0');
    const quoted = batchHarness<string, number>(() => Promise.resolve([]), { maxBatchSize: 3, maxBatchWeight: 5, weigher: () => '3' as never });
    await quoted.open();
    // A string shows as one: "returned 3" hid why 3 was refused.
    expect(() => quoted.processElement('x')).toThrow("the weigher returned '3'; weights must be finite numbers >= 0");
  });

  it('batchKey keeps a batch per key, each with its own size trigger and timer', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, string>({ clock, handler: (xs) => xs.map((x) => x.toUpperCase()) });
    const harness = batchHarness<string, string>((xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 3,
      maxBatchDelay: 50,
      batchKey: (s) => s[0],
    }, clock);
    await harness.open();
    harness.processElement('a1'); // a: due 50
    await harness.setProcessingTime(20);
    harness.processElement('b1'); // b: due 70
    await harness.setProcessingTime(30);
    harness.processElement('a2');
    harness.processElements(['c1', 'c2', 'c3']); // c: full at 30
    await harness.setProcessingTime(50);
    expectBatches(service, [['c1', 'c2', 'c3'], ['a1', 'a2']]);
    await harness.setProcessingTime(69);
    expect(service.calls).toHaveLength(2);
    await harness.setProcessingTime(70);
    expectBatches(service, [['c1', 'c2', 'c3'], ['a1', 'a2'], ['b1']]);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([30, 50, 70]);
  });

  it('never sends an empty batch, also when idle with a delay set', async () => {
    const { service, harness } = serviceHarness({ maxBatchSize: 2, maxBatchDelay: 10, batchKey: (x) => x % 2 });
    await harness.open();
    await harness.setProcessingTime(1_000);
    harness.processElements([1, 3]); // odd batch full
    harness.processElement(2); // even, due 1010
    await harness.setProcessingTime(5_000);
    harness.processElement(5);
    await harness.endInput();
    await harness.setProcessingTime(10_000);
    expectNoEmptyBatches(service);
    expectBatches(service, [[1, 3], [2], [5]]);
    expect(harness.numProcessingTimeTimers()).toBe(0);
  });
});

describe('end of input', () => {
  it('resolves only after every in-flight batch settled and its results were emitted', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 2 });
    await harness.open();
    harness.processElements([1, 2, 3]);
    let ended = false;
    const end = (harness.operator.endInput?.() as Promise<void>).then(() => (ended = true));
    await harness.drain();
    expect(calls.batches()).toEqual([[1, 2], [3]]);
    calls.call(1).resolve([30]);
    await harness.drain();
    expect(ended).toBe(false);
    calls.call(0).resolve([10, 20]);
    await end;
    expect(harness.getOutput()).toEqual([30, 10, 20]);
  });

  it('fires a pending retry at once (as Flink does) and waits for it', async () => {
    const { clock, service, harness } = serviceHarness(
      { maxBatchSize: 2, retry: { maxAttempts: 3, backoff: () => 1_000, retryOnError: () => true, retryOnResult: () => false } },
      { latency: { baseMs: 10, perItemMs: 0 }, failCalls: [1] },
    );
    await harness.open();
    harness.processElements([1, 2]);
    await clock.advance(15); // call 1 failed at 10; its retry waits until 1010
    expect(service.calls).toHaveLength(1);
    await harness.endInput();
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'error'],
      [15, 'ok'],
    ]);
    expect(harness.getOutput()).toEqual([10, 20]);
  });

  it('a retry caused after end of input also goes at once', async () => {
    const { service, harness } = serviceHarness(
      { maxBatchSize: 2, retry: { maxAttempts: 2, backoff: () => 1_000, retryOnError: () => true, retryOnResult: () => false } },
      { latency: { baseMs: 10, perItemMs: 0 }, failCalls: [1] },
    );
    await harness.open();
    harness.processElements([1, 2]);
    await harness.endInput();
    expect(service.calls.map((c) => [c.queuedAt, c.outcome])).toEqual([
      [0, 'error'],
      [10, 'ok'],
    ]);
    expect(harness.getOutput()).toEqual([10, 20]);
  });
});
