import fc from 'fast-check';
import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { createNgramTokenizer } from '../src/index.js';
import { ngramBatchTokenizer } from '../src/text/ngramTokenizer.js';

const tokenize = createNgramTokenizer();
const sorted = (ids: Uint32Array) => Array.from(ids).sort((a, b) => a - b);

describe('createNgramTokenizer', () => {
  it('cuts each word with boundary markers into overlapping n-grams', () => {
    expect(tokenize('hello')).toHaveLength(5); // <he hel ell llo lo>
    expect(tokenize('ab')).toHaveLength(2); // <ab ab>
    expect(tokenize('a')).toHaveLength(1); // <a> is a single n-gram
    expect(createNgramTokenizer({ ngram: 2 })('hello')).toHaveLength(6);
    // Characters outside the BMP count once, not as two UTF-16 units: <𠀀𠀁> has two trigrams.
    expect(tokenize('𠀀𠀁')).toHaveLength(2);
  });

  it('ignores case, punctuation, spacing and compatibility forms', () => {
    expect(tokenize('Hello,   WORLD!')).toEqual(tokenize('hello world'));
    expect(tokenize('ﬁne café')).toEqual(tokenize('FINE CAFÉ'));
  });

  it('keeps each n-gram once, so repeated words do not weigh more', () => {
    expect(tokenize('the the the')).toEqual(tokenize('the'));
    expect(sorted(tokenize('world hello'))).toEqual(sorted(tokenize('hello world')));
  });

  it('gives one changed word only its own n-grams', () => {
    const a = new Set(tokenize('the cat sat on the mat'));
    const b = new Set(tokenize('the dog sat on the mat'));
    const onlyInB = [...b].filter((id) => !a.has(id));
    expect(onlyInB).toEqual(Array.from(tokenize('dog')).filter((id) => !a.has(id)));
    expect(onlyInB.length).toBeGreaterThan(0);
  });

  it('caps the ids per text at maxLength, keeping the first', () => {
    const text = 'stream processing with batches of records and models';
    const capped = createNgramTokenizer({ maxLength: 7 })(text);
    expect(Array.from(capped)).toEqual(Array.from(tokenize(text)).slice(0, 7));
  });

  it('returns no ids for text without letters or digits', () => {
    expect(tokenize('')).toHaveLength(0);
    expect(tokenize(' ?!.. -- ')).toHaveLength(0);
  });

  it('yields distinct ids in 1..vocab-1 for any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 2, max: 5000 }), (text, vocab) => {
        const ids = createNgramTokenizer({ vocab })(text);
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) {
          expect(id).toBeGreaterThanOrEqual(1);
          expect(id).toBeLessThan(vocab);
        }
      }),
    );
  });

  it('keeps the ids the model was generated with (FNV-1a of code points, mod vocab - 1, plus 1)', () => {
    // Ids stored embeddings depend on: any change here changes every embedding.
    expect(Array.from(tokenize('Hello, world'))).toEqual([4686, 1495, 1779, 3673, 5062, 3887, 8090, 337, 567, 5282]);
    expect(Array.from(tokenize('ﬁne Café 42'))).toEqual([2817, 3186, 4248, 40, 6234, 2526, 7383, 6566, 3688, 2574]);
    expect(Array.from(tokenize('Straße 𠀀x'))).toEqual([7584, 1056, 2904, 2705, 3481, 6778, 3625, 5474]);
  });

  it('gives ASCII text the ids the general path gives it (property)', () => {
    // An em dash is neither a letter nor a digit: it adds no n-gram, but sends the text down the general path.
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }), (text, ngram, maxLength) => {
        const tokenizeWith = createNgramTokenizer({ ngram, maxLength, vocab: 997 });
        expect(Array.from(tokenizeWith(text))).toEqual(Array.from(tokenizeWith(`${text} \u2014`)));
      }),
    );
  });

  it('handles words and id counts beyond its first scratch sizes, with no limit allocated up front', () => {
    const unlimited = createNgramTokenizer({ maxLength: Number.MAX_SAFE_INTEGER });
    const longWord = 'x'.repeat(100) + 'abcdefghijklmnopqrstuvwxyz'.repeat(12);
    const manyWords = Array.from({ length: 400 }, (_, i) => `w${i}q${(i * 7919) % 1000}`).join(' ');
    for (const text of [longWord, manyWords]) {
      const ids = unlimited(text);
      expect(Array.from(ids)).toEqual(Array.from(unlimited(`${text} \u2014`)));
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(unlimited(manyWords).length).toBeGreaterThan(512);
  });

  it('rejects a text that is not a string, naming what it got', () => {
    expect(() => tokenize(123 as unknown as string)).toThrow(new TypeError('the n-gram tokenizer takes a string, got 123'));
  });

  it('returns a fresh array per call: a later call neither changes nor sees an earlier one', () => {
    const first = tokenize('the cat sat');
    const copy = Array.from(first);
    expect(Array.from(tokenize('the dog ran'))).toEqual(Array.from(createNgramTokenizer()('the dog ran')));
    expect(Array.from(first)).toEqual(copy);
    expect(Array.from(tokenize('the cat sat'))).toEqual(copy);
  });

  it('rejects bad options, naming them', () => {
    expect(() => createNgramTokenizer({ vocab: 1 })).toThrow("createNgramTokenizer: option 'vocab' must be an integer in [2, 4294967296], got 1");
    expect(() => createNgramTokenizer({ ngram: 0 })).toThrow("option 'ngram' must be an integer >= 1, got 0");
    expect(() => createNgramTokenizer({ maxLength: 1.5 })).toThrow("option 'maxLength' must be an integer >= 1, got 1.5");
    expect(() => createNgramTokenizer({ ngram: 0 })).toThrow(InvalidJobError);
  });
});

describe('ngramBatchTokenizer (the text embedder\'s feeds)', () => {
  it('gives each text of a batch the ids the tokenizer gives it alone, views of one buffer (property)', () => {
    const settings = { vocab: 997, ngram: 3, maxLength: 64 };
    const alone = createNgramTokenizer(settings);
    const batch = ngramBatchTokenizer(settings);
    fc.assert(
      // Batches of up to 300 texts of up to 64 ids pass the buffer's first 4,096 ids and grow it mid-batch.
      fc.property(fc.array(fc.string({ maxLength: 120 }), { maxLength: 300 }), (texts) => {
        const views = batch(texts);
        expect(views.map((ids) => Array.from(ids))).toEqual(texts.map((text) => Array.from(alone(text))));
        expect(new Set(views.map((ids) => ids.buffer)).size).toBeLessThanOrEqual(1);
      }),
    );
    // 100 texts of 64 ids each: the buffer grows past its first 4,096 ids mid-batch.
    const texts = Array.from({ length: 100 }, (_, t) => Array.from({ length: 40 }, (_, w) => `w${t}x${w}`).join(' '));
    const views = batch(texts);
    expect(views.reduce((sum, ids) => sum + ids.length, 0)).toBe(6_400);
    expect(views.map((ids) => Array.from(ids))).toEqual(texts.map((text) => Array.from(alone(text))));
    expect(new Set(views.map((ids) => ids.buffer)).size).toBe(1);
  });

  it('rejects a text that is not a string, as the tokenizer does', () => {
    const batch = ngramBatchTokenizer({ vocab: 997, ngram: 3, maxLength: 64 });
    expect(() => batch(['fine', 7 as unknown as string])).toThrow(new TypeError('the n-gram tokenizer takes a string, got 7'));
  });
});
