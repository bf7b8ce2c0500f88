import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@tributary/core';
import { RandomHyperplaneLsh, bucketKey, candidateProbability } from '../src/lsh.js';
import { unit, vectorAt } from './support/vectors.js';

describe('RandomHyperplaneLsh', () => {
  it('gives one code of bitsPerBand bits per band, the same for the same seed, and ignores the vector length', () => {
    const random = seededRandom(3);
    const v = unit(64, random);
    const codes = new RandomHyperplaneLsh({ bands: 8, bitsPerBand: 6, seed: 1 }).signature(v);
    expect(codes).toHaveLength(8);
    for (const code of codes) expect(code >= 0 && code < 64).toBe(true);
    expect(new Set(codes).size).toBeGreaterThan(1);
    expect(new RandomHyperplaneLsh({ bands: 8, bitsPerBand: 6, seed: 1 }).signature(v.map((x) => x * 3))).toEqual(codes);
    expect(new RandomHyperplaneLsh({ bands: 8, bitsPerBand: 6, seed: 2 }).signature(v)).not.toEqual(codes);
  });

  it('sets each bit by the side of its own hyperplane, however many hyperplanes there are (four at a time and the rest)', () => {
    // The definition, one hyperplane at a time, drawn as the class draws them (Box-Muller from the seed, row by row).
    const reference = ({ bands, bitsPerBand, seed }: { bands: number; bitsPerBand: number; seed: number }, v: ArrayLike<number>) => {
      const uniform = seededRandom(seed);
      const planes = Array.from({ length: bands * bitsPerBand }, () =>
        Array.from({ length: v.length }, () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())),
      );
      return Int32Array.from({ length: bands }, (_, band) => {
        let bits = 0;
        for (let bit = 0; bit < bitsPerBand; bit++) {
          const plane = planes[band * bitsPerBand + bit]!;
          bits = (bits << 1) | (plane.reduce((sum, p, i) => sum + p * v[i]!, 0) >= 0 ? 1 : 0);
        }
        return bits;
      });
    };
    const random = seededRandom(5);
    // 48, 21, 30 and 1 hyperplanes: multiples of four, and remainders of 1, 2 and 1.
    for (const options of [
      { bands: 8, bitsPerBand: 6, seed: 1 },
      { bands: 7, bitsPerBand: 3, seed: 2 },
      { bands: 1, bitsPerBand: 30, seed: 3 },
      { bands: 1, bitsPerBand: 1, seed: 4 },
    ]) {
      const lsh = new RandomHyperplaneLsh(options);
      for (let k = 0; k < 20; k++) {
        const v = unit(13, random);
        expect(lsh.signature(v)).toEqual(reference(options, v));
      }
    }
  });

  it('numbers a bucket by band and code, so equal codes in two bands are two buckets', () => {
    expect(bucketKey(3, 0x2a, 8)).toBe(3 * 256 + 0x2a);
    expect(bucketKey(0, 5, 8)).not.toBe(bucketKey(1, 5, 8));
    const keys = new Set<number>();
    for (let band = 0; band < 4; band++) for (let code = 0; code < 8; code++) keys.add(bucketKey(band, code, 3));
    expect(keys.size).toBe(32);
  });

  it('puts pairs in a shared bucket about as often as candidateProbability says', () => {
    const options = { bands: 8, bitsPerBand: 8, seed: 1 };
    const lsh = new RandomHyperplaneLsh(options);
    const random = seededRandom(11);
    for (const cosine of [0.3, 0.8, 0.95]) {
      let shared = 0;
      const trials = 400;
      for (let t = 0; t < trials; t++) {
        const a = unit(32, random);
        const ka = lsh.signature(a);
        const kb = lsh.signature(vectorAt(a, cosine, random));
        if (ka.some((k, i) => k === kb[i])) shared++;
      }
      expect(Math.abs(shared / trials - candidateProbability(cosine, options))).toBeLessThan(0.08);
    }
  });

  it('candidateProbability grows with the cosine and with the bands, and shrinks with the bits', () => {
    fc.assert(
      fc.property(fc.double({ min: -1, max: 0.99, noNaN: true }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 16 }), (cosine, bands, bits) => {
        const p = candidateProbability(cosine, { bands, bitsPerBand: bits });
        expect(candidateProbability(Math.min(1, cosine + 0.01), { bands, bitsPerBand: bits })).toBeGreaterThanOrEqual(p);
        expect(candidateProbability(cosine, { bands: bands + 1, bitsPerBand: bits })).toBeGreaterThanOrEqual(p);
        expect(candidateProbability(cosine, { bands, bitsPerBand: bits + 1 })).toBeLessThanOrEqual(p);
      }),
    );
    expect(candidateProbability(1, { bands: 1, bitsPerBand: 30 })).toBe(1);
  });

  it('rejects bad options and a vector of another dimension', () => {
    expect(() => new RandomHyperplaneLsh({ bands: 0, bitsPerBand: 4, seed: 1 })).toThrow("LSH option 'bands' must be an integer >= 1, got 0");
    expect(() => new RandomHyperplaneLsh({ bands: 4, bitsPerBand: 31, seed: 1 })).toThrow("LSH option 'bitsPerBand' must be at most 30, got 31");
    const lsh = new RandomHyperplaneLsh({ bands: 2, bitsPerBand: 4, seed: 1 });
    lsh.signature([1, 0, 0]);
    expect(() => lsh.signature([1, 0])).toThrow('LSH: a vector of dimension 2 after vectors of dimension 3');
  });
});

describe('the default LSH of the job', () => {
  it('almost never misses a near-duplicate, and rarely pairs unrelated texts', async () => {
    const { DEFAULT_LSH } = await import('../src/nearDuplicates.js');
    expect(candidateProbability(0.9, DEFAULT_LSH)).toBeGreaterThan(0.999);
    expect(candidateProbability(0.8, DEFAULT_LSH)).toBeGreaterThan(0.96);
    expect(candidateProbability(0.25, DEFAULT_LSH)).toBeLessThan(0.15);
  });
});
