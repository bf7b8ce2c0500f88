import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { RedisStreamSource, type RedisStreamSourceOptions } from '../src/index.js';

const DAY = 24 * 60 * 60 * 1000;
const NONSENSE = [
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NaN, 'NaN'],
  [-1, '-1'],
  [1.5, '1.5'],
] as const;
const LONG = [2 ** 31, 30 * DAY];

/** Building the source checks its options; it connects only when a reader starts. */
const build = (options: Partial<RedisStreamSourceOptions<string>>) => () =>
  new RedisStreamSource<string>({ stream: 's', group: 'g', consumer: 'c', decode: (f) => f.v ?? '', ...options });

const DURATIONS = [
  ['blockMs', '> 0', (v: number) => ({ blockMs: v })],
  ['reclaim.minIdleMs', '> 0', (v: number) => ({ reclaim: { minIdleMs: v } })],
  ['reclaim.intervalMs', '> 0', (v: number) => ({ reclaim: { minIdleMs: 1000, intervalMs: v } })],
] as const;

describe('durations of RedisStreamSource', () => {
  describe.each(DURATIONS)('%s', (option, bound, set) => {
    it.each(NONSENSE)('rejects %s when the job is built, naming the option', (value, shown) => {
      expect(build(set(value))).toThrow(InvalidJobError);
      expect(build(set(value))).toThrow(`RedisStreamSource: option '${option}' must be a finite whole number of milliseconds ${bound}, got ${shown}`);
    });

    it.each(LONG)('accepts %s ms (Redis takes them as they are)', (value) => {
      expect(build(set(value))).not.toThrow();
    });
  });

  it('rejects a BLOCK of 0, which Redis reads as "forever"', () => {
    expect(build({ blockMs: 0 })).toThrow("option 'blockMs' must be a finite whole number of milliseconds > 0, got 0");
  });

  it('rejects a minIdleMs of 0, which would claim the entries live consumers are working on', () => {
    expect(build({ reclaim: { minIdleMs: 0 } })).toThrow("option 'reclaim.minIdleMs' must be a finite whole number of milliseconds > 0, got 0");
  });
});
