import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approximateTokens, tokenWeigher } from '../src/index.js';

const words = (s: string) => s.split(/\s+/).filter((w) => w !== '').length;

describe('approximateTokens', () => {
  it('counts about four characters per token, one per CJK character, and at least one per word', () => {
    expect(approximateTokens('')).toBe(0);
    expect(approximateTokens('The quick brown fox jumps over the lazy dog')).toBe(11); // 43 chars
    expect(approximateTokens('a b c d e f')).toBe(6); // 11 chars would say 3; six words
    expect(approximateTokens('東京タワー')).toBe(5);
    expect(approximateTokens('東京 tower')).toBe(2 + Math.ceil(6 / 4));
  });

  it('never counts fewer tokens than words or a quarter of the characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii' }), (s) => {
        const n = approximateTokens(s);
        expect(n).toBeGreaterThanOrEqual(words(s));
        expect(n).toBeGreaterThanOrEqual(Math.ceil(s.length / 4));
      }),
    );
  });

  it('grows with the text and adds up over concatenation', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(approximateTokens(a + b)).toBeGreaterThanOrEqual(approximateTokens(a));
        expect(approximateTokens(`${a} ${b}`)).toBeLessThanOrEqual(approximateTokens(a) + approximateTokens(b) + 1);
      }),
    );
  });
});

describe('tokenWeigher', () => {
  it('weighs a record by the tokens of its text, with the default or a given counter', () => {
    const doc = { id: 7, body: 'a b c d e f' };
    expect(tokenWeigher((d: typeof doc) => d.body)(doc)).toBe(6);
    expect(tokenWeigher((d: typeof doc) => d.body, (t) => t.length)(doc)).toBe(11);
  });
});
