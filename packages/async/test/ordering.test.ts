import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tributary/testing';
import { seededRandom } from '@tributary/core';
import { ControlledCalls, batchHarness, keyedBatchHarness, range } from './helpers.js';

const times10 = (xs: readonly number[]): number[] => xs.map((x) => x * 10);

// FLINK-38825's ordered list (AsyncBatchWaitOperator with ordering), ported.
describe('ordered (FLINK-38825 list)', () => {
  it('emits in input order when batches complete in reverse', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 3, ordering: 'ordered' });
    await harness.open();
    harness.processElements(range(1, 6));
    await harness.drain();
    expect(calls.batches()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    calls.call(2).resolve([50, 60]);
    await harness.drain();
    calls.call(1).resolve([30, 40]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]);
    calls.call(0).resolve([10, 20]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('emits each batch as soon as every earlier one is out', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 1, maxInFlightBatches: 3, ordering: 'ordered' });
    await harness.open();
    harness.processElements([1, 2, 3]);
    await harness.drain();
    calls.call(1).resolve([2]);
    calls.call(0).resolve([1]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([1, 2]);
    calls.call(2).resolve([3]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([1, 2, 3]);
  });

  it('synchronous completion (the function returns an array, not a promise)', async () => {
    const harness = batchHarness<number, number>((xs) => times10(xs), { maxBatchSize: 2, ordering: 'ordered' });
    await harness.open();
    harness.processElements(range(1, 5));
    expect(harness.getOutput()).toEqual([10, 20, 30, 40]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([10, 20, 30, 40, 50]);
  });

  it('synchronous completion through a result future', async () => {
    const harness = batchHarness<number, number>(
      { asyncInvokeBatch: (xs, future) => future.complete(times10(xs)) },
      { maxBatchSize: 2, ordering: 'ordered' },
    );
    await harness.open();
    harness.processElements([1, 2, 3]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([10, 20, 30]);
  });

  // 20,000 batches take about 1 s alone and over 5 s (the default limit) beside the whole suite on a loaded 2-core machine.
  it('synchronous completions through one call slot run one after another, not nested', { timeout: 30_000 }, async () => {
    // 20,000 batches wait behind a first call; each completion frees the slot for the next. Run nested, they would overflow the stack.
    const n = 20_000;
    const first = new ControlledCalls<number, number>();
    const harness = batchHarness<number, number>((xs, ctx) => (xs[0] === 1 ? first.fn(xs, ctx) : times10(xs)), {
      maxBatchSize: 1,
      maxInFlightBatches: 1,
      capacity: n,
      ordering: 'ordered',
    });
    await harness.open();
    harness.processElements(range(1, n));
    first.call(0).resolve([10]);
    await harness.endInput();
    expect(harness.failure).toBeUndefined();
    expect(harness.getOutput()).toEqual(times10(range(1, n)));
  });

  it('outputs waiting in a mail behind a completion keep the operator busy: a full operator does not send its open batch early', async () => {
    // [3, 4] completes at once in the slot [1, 2] freed, so [1, 2]'s outputs follow its completion as a mail.
    // Until they are out the operator is full but not idle, so [5] waits for its delay.
    const first = new ControlledCalls<number, number>();
    const calls: number[][] = [];
    const harness = batchHarness<number, number>(
      (xs, ctx) => {
        calls.push([...xs]);
        return xs[0] === 1 ? first.fn(xs, ctx) : times10(xs);
      },
      { maxBatchSize: 2, maxBatchDelay: 50, maxInFlightBatches: 1, capacity: 5, ordering: 'ordered' },
    );
    await harness.open();
    harness.processElements([1, 2, 3, 4, 5]);
    first.call(0).resolve([10, 20]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([10, 20, 30, 40]);
    expect(calls).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await harness.setProcessingTime(50);
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('keeps order across size and time triggers', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 3, maxBatchDelay: 50, maxInFlightBatches: 2, ordering: 'ordered' });
    await harness.open();
    harness.processElements([1, 2]);
    await harness.setProcessingTime(50); // [1, 2] by time
    await harness.setProcessingTime(60);
    harness.processElements([3, 4, 5]); // by size
    await harness.drain();
    calls.call(1).resolve([3, 4, 5]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]);
    calls.call(0).resolve([1, 2]);
    await harness.drain();
    expect(harness.getOutput()).toEqual([1, 2, 3, 4, 5]);
  });

  it('an exception fails the job and later batches are not emitted ahead of the failed one', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 2, ordering: 'ordered' });
    await harness.open();
    harness.processElements(range(1, 4));
    await harness.drain();
    calls.call(1).resolve([3, 4]);
    await harness.drain();
    calls.call(0).reject(new Error('boom'));
    await harness.drain();
    expect((harness.failure as Error).message).toBe('a batch of 2 records failed after 1 attempt: boom');
    expect(harness.getOutput()).toEqual([]);
  });

  it('delayed completion: a later, faster batch waits for the slower first one', async () => {
    const clock = new ManualClock(0);
    // Batch i completes after (3 - i) * 10 ms: the last batch is the fastest.
    let n = 0;
    const harness = batchHarness<number, number>(
      (xs) => {
        const delay = (3 - n++) * 10;
        return new Promise((resolve) => clock.schedule(clock.now() + delay, () => resolve(times10(xs))));
      },
      { maxBatchSize: 2, maxInFlightBatches: 3, ordering: 'ordered' },
      clock,
    );
    await harness.open();
    harness.processElements(range(1, 6));
    await harness.setProcessingTime(20); // batches 2 and 1 are done, batch 0 is not
    expect(harness.getOutput()).toEqual([]);
    await harness.setProcessingTime(30);
    expect(harness.getTimedOutput()).toEqual(range(1, 6).map((x) => ({ time: 30, value: x * 10 })));
  });

  it('empty input: no call and no output', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, ordering: 'ordered' });
    await harness.open();
    await harness.endInput();
    expect(calls.calls).toHaveLength(0);
    expect(harness.getOutput()).toEqual([]);
  });

  it('single element', async () => {
    const harness = batchHarness<number, number>((xs) => Promise.resolve(times10(xs)), { maxBatchSize: 5, ordering: 'ordered' });
    await harness.open();
    harness.processElement(4);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([40]);
  });

  it('variable output size keeps each batch at its place', async () => {
    const calls = new ControlledCalls<number, string>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 3, ordering: 'ordered' });
    await harness.open();
    harness.processElements(range(1, 6));
    await harness.drain();
    calls.call(2).resolve(['e', 'f', 'g']);
    calls.call(1).resolve([]);
    calls.call(0).resolve(['a']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['a', 'e', 'f', 'g']);
  });

  it('many batches completing in random order come out in input order', async () => {
    const calls = new ControlledCalls<number, number>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 7, maxInFlightBatches: 20, capacity: 200, ordering: 'ordered' });
    await harness.open();
    harness.processElements(range(1, 100));
    // The calls are completed by hand here, so end the input on the operator itself (the harness would drive the clock).
    const end = harness.operator.endInput?.();
    await harness.drain();
    const random = seededRandom(7);
    const order = calls.calls.map((_, i) => i).sort(() => random() - 0.5);
    for (const i of order) {
      calls.call(i).resolve(times10(calls.call(i).inputs));
      await harness.drain();
    }
    await end;
    expect(calls.calls).toHaveLength(15);
    expect(harness.getOutput()).toEqual(range(1, 100).map((x) => x * 10));
  });
});

describe('ordered (ours)', () => {
  it('keeps input order across batchKey buffers', async () => {
    const calls = new ControlledCalls<string, string>();
    const harness = batchHarness(calls.fn, { maxBatchSize: 2, maxInFlightBatches: 4, batchKey: (s) => s[0], ordering: 'ordered' });
    await harness.open();
    harness.processElements(['a1', 'b1', 'a2', 'b2']);
    await harness.drain();
    expect(calls.batches()).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    calls.call(1).resolve(['B1', 'B2']);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]);
    calls.call(0).resolve(['A1', 'A2']);
    await harness.drain();
    // Collect mode: a batch's outputs take the place of its first record.
    expect(harness.getOutput()).toEqual(['A1', 'A2', 'B1', 'B2']);
  });

  it('per-item mode keeps input order record by record across batchKey buffers and retries', async () => {
    let failOnce = true;
    const harness = batchHarness<string, string>(
      (xs) =>
        Promise.resolve(
          xs.map((x) => {
            if (x === 'a2' && failOnce) {
              failOnce = false;
              return new Error('transient');
            }
            return x.toUpperCase();
          }),
        ),
      {
        maxBatchSize: 2,
        batchKey: (s) => s[0],
        ordering: 'ordered',
        resultMode: 'per-item',
        retry: { maxAttempts: 2, backoff: () => 100, retryOnError: () => true, retryOnResult: () => false },
      },
    );
    await harness.open();
    harness.processElements(['a1', 'b1', 'a2', 'b2', 'a3']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['A1', 'B1']); // a2 waits for its retry, so b2 waits too
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['A1', 'B1', 'A2', 'B2', 'A3']);
  });
});

describe('key-ordered', () => {
  it('keeps order within a key while other keys overtake (orderKey option)', async () => {
    const calls = new ControlledCalls<string, string>();
    const harness = batchHarness(calls.fn, {
      maxBatchSize: 2,
      maxInFlightBatches: 3,
      ordering: 'key-ordered',
      resultMode: 'per-item',
      orderKey: (s) => s[0] as string,
    });
    await harness.open();
    harness.processElements(['a1', 'b1', 'b2', 'a2', 'b3', 'b4']);
    await harness.drain();
    expect(calls.batches()).toEqual([
      ['a1', 'b1'],
      ['b2', 'a2'],
      ['b3', 'b4'],
    ]);
    calls.call(2).resolve(['B3', 'B4']);
    calls.call(1).resolve(['B2', 'A2']);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]); // b2 waits for b1 and a2 for a1, both in the first batch
    calls.call(0).resolve(['A1', 'B1']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['A1', 'A2', 'B1', 'B2', 'B3', 'B4']);
  });

  it('lets a key overtake another whose record is still in flight', async () => {
    const calls = new ControlledCalls<string, string>();
    const harness = batchHarness(calls.fn, {
      maxBatchSize: 1,
      maxInFlightBatches: 4,
      ordering: 'key-ordered',
      resultMode: 'per-item',
      orderKey: (s) => s[0] as string,
    });
    await harness.open();
    harness.processElements(['a1', 'b1', 'a2', 'b2']);
    await harness.drain();
    calls.call(3).resolve(['B2']);
    calls.call(1).resolve(['B1']);
    calls.call(2).resolve(['A2']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['B1', 'B2']);
    calls.call(0).resolve(['A1']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['B1', 'B2', 'A1', 'A2']);
  });

  it('per-item on a keyed stream: a slow key does not hold back the others', async () => {
    const calls = new ControlledCalls<{ user: string; n: number }, string>();
    const harness = keyedBatchHarness(
      calls.fn,
      { maxBatchSize: 1, maxInFlightBatches: 10, ordering: 'key-ordered', resultMode: 'per-item' },
      (e: { user: string; n: number }) => e.user,
    );
    await harness.open();
    const events = [
      { user: 'ann', n: 1 },
      { user: 'bob', n: 1 },
      { user: 'ann', n: 2 },
      { user: 'bob', n: 2 },
    ];
    harness.processElements(events);
    await harness.drain();
    calls.call(3).resolve(['bob2']);
    calls.call(2).resolve(['ann2']);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]);
    calls.call(1).resolve(['bob1']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['bob1', 'bob2']);
    calls.call(0).resolve(['ann1']);
    await harness.drain();
    expect(harness.getOutput()).toEqual(['bob1', 'bob2', 'ann1', 'ann2']);
  });
});
