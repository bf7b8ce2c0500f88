import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wordCount, type WordCountArgs } from '../src/wordCount.js';

const lines = readFileSync(new URL('../data/rivers.txt', import.meta.url), 'utf8').split('\n');

// Parallelism 1 runs on this thread; above 1 the job runs in task slots by default (each slot loads src/wordCount.ts).
const RUNS: (Omit<WordCountArgs, 'lines'> & { parallelism: number })[] = [{ parallelism: 1 }, { parallelism: 3 }, { parallelism: 2, runtime: 'single-thread' }];

describe('word count example', { timeout: 30_000 }, () => {
  it.each(RUNS)('counts the bundled text like a plain loop does (%o)', async (run) => {
    const expected = new Map<string, number>();
    const { counts, job } = await wordCount({ lines, ...run });
    const stop = new Set(['the', 'a', 'and', 'of']);
    for (const word of lines.join(' ').toLowerCase().split(/[^a-z]+/)) {
      if (word !== '') expected.set(word, (expected.get(word) ?? 0) + 1);
    }
    const got = new Map(counts);
    for (const w of stop) expect(got.has(w)).toBe(false);
    for (const [word, n] of got) expect(n).toBe(expected.get(word));
    expect(counts[0]).toEqual(['river', expected.get('river')]);
    expect(job.status).toBe('finished');
    const count = job.operators.find((o) => o.name === 'count');
    expect(count?.parallelism).toBe(run.parallelism);
    // Every running count the reduce emitted reached the collected stream.
    expect(job.operators.find((o) => o.name === 'Sink: Collect')?.recordsIn).toBe(count?.recordsOut);
  });
});
