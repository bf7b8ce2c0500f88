import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PARALLELISM, keyGroupOf, subtaskForKey } from '../src/index.js';

describe('key groups', () => {
  it('route a key to the same subtask every time, within range', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.bigInt()), fc.integer({ min: 1, max: MAX_PARALLELISM }), (key, p) => {
        const subtask = subtaskForKey(key, p);
        expect(subtask).toBe(subtaskForKey(key, p));
        expect(subtask).toBeGreaterThanOrEqual(0);
        expect(subtask).toBeLessThan(p);
        expect(keyGroupOf(key)).toBeLessThan(MAX_PARALLELISM);
      }),
    );
  });

  it('assign each subtask a contiguous range of key groups (so state can move by group)', () => {
    for (const p of [1, 3, 4, 7, 128]) {
      const owners = Array.from({ length: MAX_PARALLELISM }, (_, g) => Math.floor((g * p) / MAX_PARALLELISM));
      for (let g = 1; g < owners.length; g++) expect(owners[g]! - owners[g - 1]!).toBeGreaterThanOrEqual(0);
      expect(new Set(owners).size).toBe(p);
    }
  });

  it('spread sequential keys evenly enough over 4 subtasks', () => {
    const counts = [0, 0, 0, 0];
    for (let k = 0; k < 10_000; k++) counts[subtaskForKey(k, 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(2_000);
  });
});
