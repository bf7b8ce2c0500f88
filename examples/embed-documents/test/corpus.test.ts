import { describe, expect, it } from 'vitest';
import { generateCorpus, REPOST_SHARE } from '../src/corpus.js';

describe('generateCorpus', () => {
  it('gives the same corpus for the same seed, and another for another seed', () => {
    expect(generateCorpus({ docs: 300 })).toEqual(generateCorpus({ docs: 300 }));
    expect(generateCorpus({ docs: 300, seed: 8 }).docs).not.toEqual(generateCorpus({ docs: 300 }).docs);
  });

  it('makes a smaller corpus a prefix of a larger one, planted pairs included', () => {
    const small = generateCorpus({ docs: 400, repostShare: REPOST_SHARE });
    const large = generateCorpus({ docs: 2000, repostShare: REPOST_SHARE });
    expect(large.docs.slice(0, 400)).toEqual(small.docs);
    const inSlice = new Set(small.docs.map((d) => d.id));
    expect(large.planted.filter((p) => inSlice.has(p.duplicate))).toEqual(small.planted);
  });

  it('plants each duplicate after its original, with one edit that changes the text or none (a repost), at most one per original', () => {
    const { docs, planted } = generateCorpus({ docs: 3000, repostShare: REPOST_SHARE });
    const byId = new Map(docs.map((d, i) => [d.id, { ...d, index: i }]));
    expect(new Set(docs.map((d) => d.id)).size).toBe(docs.length);
    const reposts = planted.filter((p) => p.edit === 'repost');
    const edited = planted.filter((p) => p.edit !== 'repost');
    expect(edited.length).toBeGreaterThan(3000 * 0.06);
    expect(edited.length).toBeLessThan(3000 * 0.1);
    expect(reposts.length).toBeGreaterThan(3000 * 0.08);
    expect(reposts.length).toBeLessThan(3000 * 0.12);
    // One duplicate per original, and no duplicate is an original: the planted pairs are every pair of the corpus.
    const involved = planted.flatMap((p) => [p.original, p.duplicate]);
    expect(new Set(involved).size).toBe(involved.length);
    expect(new Set(planted.map((p) => p.edit))).toEqual(new Set(['substitute', 'insert', 'delete', 'typo', 'punctuation', 'repost']));
    // The only texts that occur twice are the reposts'.
    expect(docs.length - new Set(docs.map((d) => d.text)).size).toBe(reposts.length);
    for (const p of reposts) expect(byId.get(p.duplicate)!.text).toBe(byId.get(p.original)!.text);
    for (const p of edited) {
      const original = byId.get(p.original)!;
      const duplicate = byId.get(p.duplicate)!;
      expect(original.index).toBeLessThan(duplicate.index);
      expect(duplicate.text).not.toBe(original.text);
      const words = (t: string) => t.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w !== '');
      const [a, b] = [words(original.text), words(duplicate.text)];
      if (p.edit === 'punctuation') {
        expect(b).toEqual(a);
      } else {
        // One word changed, added or removed.
        expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(1);
        expect(b).not.toEqual(a);
      }
    }
  });

  it('plants no reposts by default: the corpus of the benchmarks, every text distinct', () => {
    const { docs, planted } = generateCorpus({ docs: 3000 });
    expect(planted.filter((p) => p.edit === 'repost')).toEqual([]);
    expect(new Set(docs.map((d) => d.text)).size).toBe(docs.length);
    // The same near-duplicates as before reposts existed: 406 pairs at 5,000 documents.
    expect(generateCorpus({ docs: 5000 }).planted.length).toBe(406);
  });

  it('writes "an" before a vowel and "a" before a consonant', () => {
    for (const { text } of generateCorpus({ docs: 1000 }).docs) {
      expect(text).not.toMatch(/\b[Aa] [aeiouAEIOU]/);
      expect(text).not.toMatch(/\b[Aa]n [^aeiouAEIOU\d]/);
    }
  });
});
