import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@tributary/core';
import { RandomHyperplaneLsh } from '../src/lsh.js';
import { PackedSignatures, distanceCutoff } from '../src/packedSignatures.js';
import { unit, vectorAt } from './support/vectors.js';

/** Two signatures of `bands` codes of `bits` bits each. */
const signaturePair = fc
  .record({ bands: fc.integer({ min: 1, max: 40 }), bits: fc.integer({ min: 1, max: 30 }) })
  .chain(({ bands, bits }) => {
    const codes = fc.array(fc.integer({ min: 0, max: 2 ** bits - 1 }), { minLength: bands, maxLength: bands }).map((c) => Int32Array.from(c));
    return fc.record({ bands: fc.constant(bands), bits: fc.constant(bits), a: codes, b: codes, band: fc.integer({ min: 0, max: bands - 1 }) });
  });

const differingBits = (x: number, y: number) => [...(x ^ y).toString(2)].filter((c) => c === '1').length;

describe('PackedSignatures', () => {
  it('packed, gives the Hamming distance of the codes and tells whether an earlier band has the same code', () => {
    fc.assert(
      fc.property(signaturePair, ({ bands, bits, a, b, band }) => {
        const packing = new PackedSignatures({ bands, bitsPerBand: bits });
        // Both at an offset, as in a bucket's array of members.
        const members = new Int32Array(3 * packing.words);
        members.set(packing.pack(b), 2 * packing.words);
        const mine = packing.pack(a);
        expect(packing.distance(mine, 0, members, 2 * packing.words)).toBe([...a].reduce((sum, code, i) => sum + differingBits(code, b[i]!), 0));
        expect(packing.shareBandBefore(mine, 0, members, 2 * packing.words, band)).toBe([...a].slice(0, band).some((code, i) => code === b[i]));
      }),
    );
  });

  it('visits the members within the cutoff, by index', () => {
    const packing = new PackedSignatures({ bands: 4, bitsPerBand: 10 });
    const codes = [
      [0, 0, 0, 0],
      [1, 0, 0, 0],
      [3, 0, 0, 1],
      [1023, 1023, 0, 0],
    ].map((c) => packing.pack(Int32Array.from(c)));
    const members = new Int32Array(codes.length * packing.words);
    codes.forEach((c, i) => members.set(c, i * packing.words));
    const within = (cutoff: number, count = codes.length) => {
      const visited: number[] = [];
      packing.forEachWithin(codes[0]!, members, count, cutoff, (i) => visited.push(i));
      return visited;
    };
    expect(within(0)).toEqual([0]);
    expect(within(2)).toEqual([0, 1]);
    expect(within(3)).toEqual([0, 1, 2]);
    expect(within(20)).toEqual([0, 1, 2, 3]);
    expect(within(20, 2)).toEqual([0, 1]);
  });

  it('rejects a signature of another band count', () => {
    expect(() => new PackedSignatures({ bands: 4, bitsPerBand: 10 }).pack(new Int32Array(3))).toThrow('a signature of 3 bands, expected 4');
  });
});

describe('distanceCutoff', () => {
  it('is exact for one other band of two bits: the distance is 2 with probability q / (2 - q), else 1', () => {
    // q = angle / π; at cosine -0.5, q = 2/3 and q / (2 - q) = 0.5.
    expect(distanceCutoff(-0.6, { bands: 2, bitsPerBand: 2 }, 0.5)).toBe(2);
    expect(distanceCutoff(-0.4, { bands: 2, bitsPerBand: 2 }, 0.5)).toBe(1);
    // One band only: a pair in a shared bucket agrees on every bit.
    expect(distanceCutoff(0.8, { bands: 1, bitsPerBand: 10 })).toBe(0);
    expect(distanceCutoff(1, { bands: 32, bitsPerBand: 10 })).toBe(0);
  });

  it('grows as the threshold falls and as the miss probability shrinks', () => {
    const lsh = { bands: 32, bitsPerBand: 10 };
    const cutoffs = [0.95, 0.9, 0.8, 0.6, 0.3].map((t) => distanceCutoff(t, lsh));
    expect(cutoffs).toEqual([...cutoffs].sort((x, y) => x - y));
    expect(new Set(cutoffs).size).toBe(cutoffs.length);
    expect(distanceCutoff(0.8, lsh, 1e-9)).toBeGreaterThan(distanceCutoff(0.8, lsh, 1e-3));
  });

  it('keeps every pair at the threshold that shares a bucket, and screens out most unrelated pairs that do', () => {
    const options = { bands: 32, bitsPerBand: 10, seed: 1 };
    const lsh = new RandomHyperplaneLsh(options);
    const packing = new PackedSignatures(options);
    const cutoff = distanceCutoff(0.8, options);
    const random = seededRandom(5);
    /** Of `trials` pairs at `cosine` that share a bucket, how many are within the cutoff. */
    const kept = (cosine: number, trials: number) => {
      let shared = 0;
      let within = 0;
      for (let t = 0; t < trials; t++) {
        const a = unit(64, random);
        const ca = lsh.signature(a);
        const cb = lsh.signature(vectorAt(a, cosine, random));
        if (!ca.some((code, i) => code === cb[i])) continue;
        shared++;
        if (packing.distance(packing.pack(ca), 0, packing.pack(cb), 0) <= cutoff) within++;
      }
      return { shared, within };
    };
    const atThreshold = kept(0.8, 1500);
    expect(atThreshold.shared).toBeGreaterThan(1300);
    expect(atThreshold.within).toBe(atThreshold.shared);
    const unrelated = kept(0.3, 3000);
    expect(unrelated.shared).toBeGreaterThan(200);
    expect(unrelated.within / unrelated.shared).toBeLessThan(0.05);
  });
});
