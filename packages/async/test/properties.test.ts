import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OutputTag } from '@tributary/core';
import { seededRandom } from '@tributary/core';
import { RetryStrategies, type DeadLetter, type Ordering, type WaitBatchOptions } from '../src/index.js';
import { ControlledCalls, batchHarness } from './helpers.js';

interface Scenario {
  readonly inputs: number[];
  readonly maxBatchSize: number;
  readonly maxBatchDelay: number;
  readonly maxInFlightBatches: number;
  readonly extraCapacity: number;
  readonly perItem: boolean;
  readonly splitOnFailure: boolean;
  readonly maxAttempts: number;
  readonly retryDelay: number;
  readonly failRate: number;
  readonly seed: number;
}

const scenario = fc.record<Scenario>({
  // Unique values, so the order check can tell which record went where.
  inputs: fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 40 }),
  maxBatchSize: fc.integer({ min: 1, max: 6 }),
  maxBatchDelay: fc.constantFrom(0, 3, 20),
  maxInFlightBatches: fc.integer({ min: 1, max: 4 }),
  extraCapacity: fc.integer({ min: 0, max: 10 }),
  perItem: fc.boolean(),
  splitOnFailure: fc.boolean(),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  retryDelay: fc.constantFrom(0, 4),
  failRate: fc.constantFrom(0, 0.25, 0.6),
  seed: fc.integer(),
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs the operator on a scenario: the driver feeds records one by one or in
 * chunks (respecting backpressure), completes pending calls in a random order with random
 * failures (whole calls or single items), and moves the clock, as the seed
 * says; then ends the input and completes what is left.
 */
async function run(s: Scenario, ordering: Ordering, policy: 'dead-letter' | 'fallback'): Promise<{ out: number[]; dead: number[] }> {
  const random = seededRandom(s.seed);
  const calls = new ControlledCalls<number, number | Error>();
  const letters = new OutputTag<DeadLetter<number>>('dead');
  const options: WaitBatchOptions<number, number> = {
    maxBatchSize: s.maxBatchSize,
    maxBatchDelay: s.maxBatchDelay,
    maxInFlightBatches: s.maxInFlightBatches,
    capacity: s.maxBatchSize + s.extraCapacity,
    ordering,
    resultMode: s.perItem ? 'per-item' : 'collect',
    splitOnFailure: s.splitOnFailure,
    retry: RetryStrategies.fixedDelay({ maxAttempts: s.maxAttempts, delayMs: s.retryDelay }),
    onFailure: policy === 'dead-letter' ? { deadLetter: letters } : { fallback: (x) => [x * 10] },
  };
  const harness = batchHarness<number, number>(calls.fn, options);
  await harness.open();
  const completed = new Set<object>();
  let next = 0;
  let done = false;
  let end: Promise<void> | undefined;
  for (let step = 0; step < 5_000 && !done; step++) {
    const pending = calls.calls.filter((c) => !completed.has(c));
    const choice = random();
    if (end === undefined && next < s.inputs.length && !harness.backpressured && choice < 0.5) {
      if (choice < 0.3) {
        harness.processElement(s.inputs[next++] as number);
      } else {
        // A chunk, as a task hands over: at most the operator's free capacity.
        const free = harness.operator.freeCapacity?.() ?? 1;
        const n = 1 + Math.floor(random() * Math.min(free, s.inputs.length - next));
        harness.processChunk(s.inputs.slice(next, next + n));
        next += n;
      }
    } else if (pending.length > 0 && choice < 0.85) {
      const call = pending[Math.floor(random() * pending.length)] as (typeof pending)[number];
      completed.add(call);
      if (!s.perItem && random() < s.failRate) call.reject(new Error('call failed'));
      else call.resolve(call.inputs.map((x) => (s.perItem && random() < s.failRate ? new Error(`item ${x} failed`) : x * 10)));
      await tick();
    } else if (end === undefined && next >= s.inputs.length) {
      end = Promise.resolve(harness.operator.endInput?.()).then(() => {
        done = true;
      });
      await tick();
    } else {
      await harness.setProcessingTime(harness.clock.now() + 1 + Math.floor(random() * 10));
    }
  }
  expect(harness.failure).toBeUndefined();
  expect(done).toBe(true);
  return { out: harness.getOutput(), dead: harness.getSideOutput(letters).map((l) => l.input) };
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

describe('laws (fast-check)', () => {
  it('every input is emitted exactly once or dead-lettered exactly once, whatever the batching, completion order and failures', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.constantFrom<Ordering>('unordered', 'ordered'), async (s, ordering) => {
        const { out, dead } = await run(s, ordering, 'dead-letter');
        expect(sorted([...out.map((x) => x / 10), ...dead])).toEqual(sorted(s.inputs));
        if (ordering === 'ordered') {
          // Ordered output is the input order, minus the records that gave up.
          const remaining = [...s.inputs];
          for (const d of dead) remaining.splice(remaining.indexOf(d), 1);
          expect(out).toEqual(remaining.map((x) => x * 10));
        }
      }),
      { numRuns: 120 },
    );
  });

  it('ordered output equals the input order, and unordered gives the same multiset', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const ordered = await run(s, 'ordered', 'fallback');
        const unordered = await run(s, 'unordered', 'fallback');
        expect(ordered.out).toEqual(s.inputs.map((x) => x * 10));
        expect(sorted(unordered.out)).toEqual(sorted(ordered.out));
      }),
      { numRuns: 80 },
    );
  });
});
