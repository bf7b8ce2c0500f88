import { describe, expect, it } from 'vitest';
import { seededRandom } from '@tributary/core';
import { KeyedOneInputOperatorHarness } from '@tributary/testing';
import { BucketMatcher, bucketEntries, type BucketEntry, type DuplicatePair } from '../src/BucketMatcher.js';
import type { EmbeddedDoc } from '../src/embedders.js';
import { RandomHyperplaneLsh, bucketKey } from '../src/lsh.js';
import { PackedSignatures, distanceCutoff } from '../src/packedSignatures.js';
import { unit, vectorAt } from './support/vectors.js';

const LSH = { bands: 8, bitsPerBand: 6, seed: 1 };
const THRESHOLD = 0.8;

function harness() {
  return KeyedOneInputOperatorHarness.forKeyedProcessFunction(new BucketMatcher({ threshold: THRESHOLD, lsh: LSH }), (entry: BucketEntry) => entry.bucket);
}

const doc = (id: string, vector: Float64Array): EmbeddedDoc => ({ id, text: `text of ${id}`, vector: Float32Array.from(vector) });
const dot = (a: EmbeddedDoc, b: EmbeddedDoc) => a.vector.reduce((sum, x, i) => sum + x * b.vector[i]!, 0);
const pairKey = (p: Pick<DuplicatePair, 'a' | 'b'>) => `${p.a} ${p.b}`;

/** 60 documents: 20 originals, a near-duplicate (cosine 0.95) of each of the first 10, and 30 at cosine 0.5 from an original. */
function documents(): EmbeddedDoc[] {
  const random = seededRandom(9);
  const originals = Array.from({ length: 20 }, () => unit(32, random));
  return [
    ...originals.map((v, i) => doc(`o${String(i).padStart(2, '0')}`, v)),
    ...originals.slice(0, 10).map((v, i) => doc(`d${String(i).padStart(2, '0')}`, vectorAt(v, 0.95, random))),
    ...Array.from({ length: 30 }, (_, i) => doc(`u${String(i).padStart(2, '0')}`, vectorAt(originals[i % 20]!, 0.5, random))),
  ];
}

describe('BucketMatcher', () => {
  it('emits each pair at or above the threshold once, although the two share several buckets', async () => {
    const docs = documents();
    const lsh = new RandomHyperplaneLsh(LSH);
    const h = harness();
    await h.open();
    h.processElements(docs.flatMap(bucketEntries(lsh)));
    const pairs = h.getOutput();
    // Most planted pairs share more than one of the eight buckets.
    const sharedBands = (i: number) => {
      const [x, y] = [lsh.signature(docs[i]!.vector), lsh.signature(docs[20 + i]!.vector)];
      return x.filter((code, band) => code === y[band]).length;
    };
    expect(Array.from({ length: 10 }, (_, i) => sharedBands(i)).filter((n) => n > 1).length).toBeGreaterThan(5);
    const keys = pairs.map(pairKey);
    expect(new Set(keys).size).toBe(keys.length);
    const allAbove = docs.flatMap((x, i) => docs.slice(i + 1).flatMap((y) => (dot(x, y) >= THRESHOLD ? [[x.id, y.id].sort().join(' ')] : [])));
    expect(allAbove).toHaveLength(10);
    expect(new Set(keys)).toEqual(new Set(allAbove));
    for (const p of pairs) expect(p.a < p.b).toBe(true);
  });

  it('compares a pair in the first band it shares only', async () => {
    const packing = new PackedSignatures(LSH);
    const same = doc('a', unit(8, seededRandom(1)));
    const twin = { ...same, id: 'b' };
    // Equal codes in bands 2 and 5: only band 2's bucket compares them.
    const codes = (first: number) => Int32Array.from({ length: LSH.bands }, (_, band) => (band === 2 || band === 5 ? 7 : first + band));
    const entry = (d: EmbeddedDoc, first: number, band: number): BucketEntry => ({ bucket: bucketKey(band, codes(first)[band]!, LSH.bitsPerBand), band, signature: packing.pack(codes(first)), doc: d });
    const h = harness();
    await h.open();
    h.processElements([entry(same, 10, 5), entry(twin, 40, 5)]);
    expect(h.getOutput()).toEqual([]);
    h.processElements([entry(same, 10, 2), entry(twin, 40, 2)]);
    expect(h.getOutput().map(pairKey)).toEqual(['a b']);
  });

  it('skips a member whose signature is farther than the cutoff without computing the cosine', async () => {
    const packing = new PackedSignatures(LSH);
    const cutoff = distanceCutoff(THRESHOLD, LSH);
    const same = doc('a', unit(8, seededRandom(2)));
    // Identical vectors (cosine 1), but signatures that differ in more bits than the cutoff allows (band 0 shared).
    const near = Int32Array.from({ length: LSH.bands }, () => 0);
    const far = Int32Array.from({ length: LSH.bands }, (_, band) => (band === 0 ? 0 : 63));
    expect(packing.distance(packing.pack(near), 0, packing.pack(far), 0)).toBeGreaterThan(cutoff);
    const h = harness();
    await h.open();
    h.processElements([
      { bucket: 0, band: 0, signature: packing.pack(near), doc: same },
      { bucket: 0, band: 0, signature: packing.pack(far), doc: { ...same, id: 'b' } },
      { bucket: 0, band: 0, signature: packing.pack(near), doc: { ...same, id: 'c' } },
    ]);
    expect(h.getOutput().map(pairKey)).toEqual(['a c']);
  });

  it('keeps its buckets across a checkpoint: a document after the restore pairs with one before it', async () => {
    const docs = documents();
    const entries = bucketEntries(new RandomHyperplaneLsh(LSH));
    const before = harness();
    await before.open();
    before.processElements(docs.filter((d) => !d.id.startsWith('d')).flatMap(entries));
    expect(before.getOutput()).toEqual([]);
    const snapshot = before.snapshot();
    await before.close();

    const after = harness();
    after.initializeState(snapshot);
    await after.open();
    // Grows the restored buckets' signature arrays past their first capacity.
    after.processElements(docs.filter((d) => d.id.startsWith('d')).flatMap(entries));
    expect(after.getOutput().map(pairKey).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `d0${i} o0${i}`));
  });
});
