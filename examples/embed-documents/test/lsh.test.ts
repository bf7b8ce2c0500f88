import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@tributary/core';
import { RandomHyperplaneLsh, candidateProbability } from '../src/lsh.js';

/** A unit vector at cosine `cosine` from the unit vector `base`, in a random direction. */
function vectorAt(base: Float64Array, cosine: number, random: () => number): Float64Array {
  const noise = base.map(() => random() - 0.5);
  const along = noise.reduce((s, x, i) => s + x * base[i]!, 0);
  const orthogonal = noise.map((x, i) => x - along * base[i]!);
  const norm = Math.hypot(...orthogonal);
  const sine = Math.sqrt(1 - cosine * cosine);
  return base.map((x, i) => cosine * x + (sine * orthogonal[i]!) / norm);
}

function unit(dimension: number, random: () => number): Float64Array {
  const v = Float64Array.from({ length: dimension }, () => random() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe('RandomHyperplaneLsh', () => {
  it('gives one key per band, the same for the same seed, and ignores the vector length', () => {
    const random = seededRandom(3);
    const v = unit(64, random);
    const keys = new RandomHyperplaneLsh({ bands: 8, bitsPerBand: 6, seed: 1 }).bucketKeys(v);
    expect(keys).toHaveLength(8);
    expect(keys.map((k) => k.split(':')[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(new RandomHyperplaneLsh({ bands: 8, bitsPerBand: 6, seed: 1 }).bucketKeys(v.map((x) => x * 3))).toEqual(keys);
    expect(new RandomHyperplaneLsh({ bands: 8, bitsPerBand: 6, seed: 2 }).bucketKeys(v)).not.toEqual(keys);
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
        const ka = lsh.bucketKeys(a);
        const kb = lsh.bucketKeys(vectorAt(a, cosine, random));
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
    lsh.bucketKeys([1, 0, 0]);
    expect(() => lsh.bucketKeys([1, 0])).toThrow('LSH: a vector of dimension 2 after vectors of dimension 3');
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
