import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { FakeBatchService, feedMarbles, ManualClock, OneInputOperatorHarness, toMarbles } from '../src/index.js';
import { miniBatch } from './fixtures/MiniBatchOperator.js';

const DAY = 24 * 60 * 60 * 1000;
const NONSENSE = [
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NaN, 'NaN'],
  [-1, '-1'],
] as const;
const LONG = [2 ** 31, 30 * DAY];

const clock = new ManualClock(0);
const service = (options: object) => () => new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], ...options });
const harness = () =>
  new OneInputOperatorHarness(miniBatch<number, number>({ call: (xs) => Promise.resolve(xs), maxBatchSize: 2, maxDelayMs: 5, maxInFlight: 1 }), { clock: new ManualClock(0) });

/** Every time-valued option of the testing kit: owner, option, bound, and a call that sets it. */
const KIT_DURATIONS: readonly (readonly [string, string, string, (value: number) => unknown])[] = [
  ['FakeBatchService', 'latency.baseMs', '>= 0', (v) => service({ latency: { baseMs: v, perItemMs: 0 } })()],
  ['FakeBatchService', 'latency.perItemMs', '>= 0', (v) => service({ latency: { baseMs: 0, perItemMs: v } })()],
  ['FakeBatchService', 'retryAfterMs', '>= 0', (v) => service({ retryAfterMs: v })()],
  ['toMarbles()', 'frameMs', '> 0', (v) => toMarbles([], { frameMs: v })],
];

describe('durations of the testing kit', () => {
  describe.each(KIT_DURATIONS)('%s: %s', (owner, option, bound, set) => {
    it.each(NONSENSE)('rejects %s, naming the owner and the option', (value, shown) => {
      expect(() => set(value)).toThrow(InvalidJobError);
      expect(() => set(value)).toThrow(`${owner}: option '${option}' must be a finite number of milliseconds ${bound}, got ${shown}`);
    });

    it.each(LONG)('accepts %s ms', (value) => {
      expect(() => set(value)).not.toThrow();
    });
  });

  it.each(NONSENSE)('feedMarbles() rejects a frameMs of %s before feeding anything', async (value, shown) => {
    const h = harness();
    await h.open();
    await expect(feedMarbles(h, 'a|', { frameMs: value })).rejects.toThrow(`feedMarbles(): option 'frameMs' must be a finite number of milliseconds > 0, got ${shown}`);
    expect(h.getOutput()).toEqual([]);
  });

  it('a FakeBatchService with a 30-day latency answers at 30 days, not 1 ms in', async () => {
    const manual = new ManualClock(0);
    const slow = new FakeBatchService<number, number>({ clock: manual, handler: (xs) => [...xs], latency: { baseMs: 30 * DAY, perItemMs: 0 } });
    let answer: readonly number[] | undefined;
    void slow.call([1]).then((xs) => (answer = xs));
    await manual.advance(1);
    await manual.setTime(30 * DAY - 1);
    expect(answer).toBeUndefined();
    await manual.setTime(30 * DAY);
    expect(answer).toEqual([1]);
  });
});
