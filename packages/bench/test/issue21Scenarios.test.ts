import { describe, expect, it } from 'vitest';
import type { CpuScenario } from '../src/harness/cpuRunner.js';
import { buildScenarios } from '../src/scenarios/index.js';
import { buildKeyedTokenScoreJob } from '../src/scenarios/keyedTokenScore.js';
import { S7_KEYS, s7Lines, scoreLine } from '../src/scenarios/keyedTokenScoreWorkload.js';
import { handThreads } from '../src/scenarios/keyedTokenScoreThreads.js';
import { expectedS4 } from './support/expected.js';
import { warmupRunsFor } from '../src/harness/sampling.js';

// The scenarios of issue 21 with tiny inputs: every contender does the work its
// scenario describes. No timing.

const scenarios = buildScenarios();

async function runContenders(scenario: CpuScenario, n: number) {
  return Promise.all(
    scenario.contenders.map(async (c) => {
      await c.prepare?.(n);
      try {
        const { count, sum } = await c.run(n);
        return [c.id, { count, sum }] as const;
      } finally {
        await c.teardown?.();
      }
    }),
  );
}

// Slots load core's TypeScript sources through tsx in each worker: seconds on a loaded 2-core machine.
describe('S7', { timeout: 30_000 }, () => {
  const s7 = scenarios.S7 as CpuScenario;

  it('scores a line by its lower-cased words, whatever the case and punctuation', () => {
    const line = JSON.stringify({ id: 1, user: 'user-1', text: 'Kalomi, nerusa.' });
    expect(scoreLine(line)).toEqual(scoreLine(JSON.stringify({ id: 2, user: 'user-1', text: 'kalomi nerusa' })));
    expect(scoreLine(line).user).toBe('user-1');
    expect(scoreLine(line).score).not.toBe(scoreLine(JSON.stringify({ id: 3, user: 'user-1', text: 'kalomi' })).score);
  });

  it('reads its lines in every subtask, chained to the parsing: only scored records cross to the user counts', () => {
    const stream = buildKeyedTokenScoreJob({ records: 10, parallelism: 2 });
    stream.addSink(() => undefined);
    expect(stream.env.getJobGraph().vertices.map((v) => [v.name, v.parallelism])).toEqual([
      ['lines -> parse and score', 2],
      ['count per user -> Sink: Function', 2],
    ]);
  });

  it('has 10,000 users, and every contender emits each line\'s score and the count of its user\'s lines so far', async () => {
    const n = 25_000;
    const lines = [...s7Lines(n)];
    const users = new Map<string, number>();
    for (const line of lines) {
      const { user } = JSON.parse(line) as { user: string };
      users.set(user, (users.get(user) ?? 0) + 1);
    }
    expect(users.size).toBe(S7_KEYS);
    // A user with k lines emits counts 1..k, whatever the order they arrive in: k(k+1)/2 thousands, plus every line's score.
    let sum = 0;
    for (const k of users.values()) sum += (1000 * k * (k + 1)) / 2;
    for (const line of lines) sum += scoreLine(line).score;
    expect(await runContenders(s7, n)).toEqual(s7.contenders.map((c) => [c.id, { count: n, sum }]));
    expect(s7.contenders.map((c) => c.id)).toEqual(['hand-loop', 'tributary', 'tributary-p2', 'tributary-slots-p2', 'hand-threads-p2']);
  });

  it('warms each row up until its per-chunk code ran as often as S2\'s: the threads of the two-slots row and its peer see every other chunk', () => {
    const runs = Object.fromEntries(s7.contenders.map((c) => [c.id, warmupRunsFor(500_000, c.recordsPerCall, false)]));
    expect(runs).toEqual({ 'hand-loop': 2, tributary: 4, 'tributary-p2': 4, 'tributary-slots-p2': 8, 'hand-threads-p2': 8 });
  });

  it('runs the hand-written two-thread peer again in the same threads, its counts started afresh', async () => {
    const n = 5_000;
    const expected = await s7.contenders.find((c) => c.id === 'hand-loop')!.run(n);
    try {
      expect(await handThreads.run(n)).toEqual(expected);
      expect(await handThreads.run(n)).toEqual(expected);
    } finally {
      await handThreads.teardown?.();
    }
  });
});

describe('S4-edge', { timeout: 30_000 }, () => {
  it('runs S4 chained, across a hash edge and across two slots, with S4\'s sums', async () => {
    const edge = scenarios['S4-edge'] as CpuScenario;
    const n = 12_345;
    expect(await runContenders(edge, n)).toEqual([
      ['chained', expectedS4(n)],
      ['hash-edge-p2', expectedS4(n)],
      ['slots-p2', expectedS4(n)],
    ]);
  });
});

// Each case starts a job in two slots, and ONNX session workers in each: well past the 5 s default on a loaded machine.
describe('S6', { timeout: 30_000 }, () => {
  it.each([0, 1])('runs the main job on the corpus (contender %i: one thread, two slots): every planted pair found, the call latency in the stats', async (index) => {
    const s6 = scenarios.S6 as CpuScenario;
    expect(s6.contenders.map((c) => c.id)).toEqual(['tributary', 'tributary-slots-p2']);
    const main = s6.contenders[index];
    const n = 400;
    await main!.prepare?.(n);
    try {
      const first = await main!.run(n);
      // 400 documents of the corpus hold 31 planted pairs, and nothing else at cosine 0.8 (examples/embed-documents tests it).
      expect({ count: first.count, sum: first.sum }).toEqual({ count: 31, sum: 31 });
      expect(first.stats?.['callLatencyP95Ms']).toBeGreaterThanOrEqual(first.stats?.['callLatencyP50Ms'] ?? Infinity);
      // A second run starts from an empty output directory and finds the same pairs.
      expect(await main!.run(n)).toMatchObject({ count: 31, sum: 31 });
    } finally {
      await main!.teardown?.();
    }
    await expect(main!.run(n)).rejects.toThrow('S6: 400 documents asked, 0 prepared');
  });
});
