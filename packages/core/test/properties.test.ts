import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment, type DataStream } from '../src/index.js';

type Step =
  | { op: 'map'; mul: number; add: number }
  | { op: 'filter'; mod: number }
  | { op: 'keyedCount'; keys: number; parallelism: number }
  | { op: 'rebalance'; parallelism: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('map' as const), mul: fc.integer({ min: -3, max: 3 }), add: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ op: fc.constant('filter' as const), mod: fc.integer({ min: 2, max: 5 }) }),
  fc.record({ op: fc.constant('keyedCount' as const), keys: fc.integer({ min: 1, max: 6 }), parallelism: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('rebalance' as const), parallelism: fc.integer({ min: 1, max: 3 }) }),
);

const keyOf = (v: number, keys: number) => Math.abs(v) % keys;

/**
 * The plain-array meaning of a pipeline. `keyedCount` emits `key * 10_000 + n` for the
 * n-th record of its key: parallel stages may reorder records of a key, but the multiset
 * {1..count} per key does not depend on order, while a lost, duplicated or misrouted
 * record (a key's state split over two subtasks) changes it.
 */
function reference(input: number[], steps: Step[]): number[] {
  let values = input;
  for (const s of steps) {
    if (s.op === 'map') values = values.map((v) => v * s.mul + s.add);
    else if (s.op === 'filter') values = values.filter((v) => Math.abs(v) % s.mod !== 0);
    else if (s.op === 'keyedCount') {
      const counts = new Map<number, number>();
      values = values.map((v) => {
        const k = keyOf(v, s.keys);
        counts.set(k, (counts.get(k) ?? 0) + 1);
        return k * 10_000 + counts.get(k)!;
      });
    }
  }
  return values;
}

function build(stream: DataStream<number>, steps: Step[]): DataStream<number> {
  for (const s of steps) {
    if (s.op === 'map') stream = stream.map((v) => v * s.mul + s.add);
    else if (s.op === 'filter') stream = stream.filter((v) => Math.abs(v) % s.mod !== 0);
    else if (s.op === 'rebalance') stream = stream.rebalance().map((v) => v).setParallelism(s.parallelism);
    else
      stream = stream
        .map((v): [number, number] => [keyOf(v, s.keys), 1])
        .keyBy(([k]) => k)
        .reduce(([k, a], [, b]) => [k, a + b])
        .setParallelism(s.parallelism)
        .map(([k, n]) => k * 10_000 + n);
  }
  return stream;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('random pipelines', () => {
  // 80 jobs: under half a second alone, over 5 s (the default limit) beside the whole suite on a loaded 2-core machine.
  it('produce the multiset a plain-array implementation produces', { timeout: 30_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }),
        fc.array(step, { maxLength: 6 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 3 }),
        async (input, steps, chunkSize, parallelism) => {
          const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize, channelCapacity: 2, parallelism });
          const out = await build(env.fromCollection(input), steps).executeAndCollect();
          expect(sorted(out)).toEqual(sorted(reference(input, steps)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('preserve order end to end when every stage has parallelism 1', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 200 }), fc.integer({ min: 1, max: 16 }), async (input, chunkSize) => {
        const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize });
        const out = await env.fromCollection(input).rebalance().map((v) => v ^ 1).keyBy((v) => v & 3).map((v) => v ^ 1).executeAndCollect();
        expect(out).toEqual(input.map((v) => (v ^ 1) ^ 1));
      }),
      { numRuns: 40 },
    );
  });
});
