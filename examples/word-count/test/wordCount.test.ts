import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wordCount } from '../src/wordCount.js';

const lines = readFileSync(new URL('../data/rivers.txt', import.meta.url), 'utf8').split('\n');

describe('word count example', () => {
  it.each([1, 3])('counts the bundled text like a plain loop does (parallelism %i)', async (parallelism) => {
    const expected = new Map<string, number>();
    const { counts, job } = await wordCount(lines, { parallelism });
    const stop = new Set(['the', 'a', 'and', 'of']);
    for (const word of lines.join(' ').toLowerCase().split(/[^a-z]+/)) {
      if (word !== '') expected.set(word, (expected.get(word) ?? 0) + 1);
    }
    const got = new Map(counts);
    for (const w of stop) expect(got.has(w)).toBe(false);
    for (const [word, n] of got) expect(n).toBe(expected.get(word));
    expect(counts[0]).toEqual(['river', expected.get('river')]);
    expect(job.operators.find((o) => o.name === 'count')?.parallelism).toBe(parallelism);
  });
});
