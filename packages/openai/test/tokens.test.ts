import fc from 'fast-check';
import { InvalidJobError } from '@tributary/core';
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

  it('fails a record whose text is not a string, naming tokenWeigher and the value', () => {
    const weigh = tokenWeigher((d: { body?: string }) => d.body as string);
    expect(() => weigh({})).toThrow(new TypeError('tokenWeigher: text(record) must return a string, got undefined'));
    expect(() => tokenWeigher((d: { n: number }) => d.n as unknown as string, (t) => t.length)({ n: 3 })).toThrow(
      'tokenWeigher: text(record) must return a string, got 3',
    );
  });

  it('rejects arguments that are not functions when it is created, naming them', () => {
    expect(() => tokenWeigher('body' as never)).toThrow(new InvalidJobError("tokenWeigher: argument 'text' must be a function, got 'body'"));
    expect(() => tokenWeigher((d: string) => d, 4 as never)).toThrow(new InvalidJobError("tokenWeigher: argument 'count' must be a function, got 4"));
  });
});

describe('approximateTokens given no string', () => {
  it('fails naming approximateTokens and the value', () => {
    expect(() => approximateTokens(undefined as never)).toThrow(new TypeError('approximateTokens: text must be a string, got undefined'));
    expect(() => approximateTokens(['a b'] as never)).toThrow('approximateTokens: text must be a string, got an array');
  });
});
