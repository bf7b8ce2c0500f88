import { InvalidJobError, redistributeListState, StreamExecutionEnvironment } from '@tributary/core';
import { FakeBatchService, ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { AsyncDataStream, asyncBatchOperatorFactory, type WaitBatchOptions } from '../../src/index.js';
import { metric } from '../helpers.js';

const options: WaitBatchOptions<number, number> = { maxBatchSize: 512, maxBatchDelay: 200, adaptive: { targetLatency: 200 } };

function harnessFor(clock: ManualClock, sizes: number[]): OneInputOperatorHarness<number, number> {
  const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 20, perItemMs: 1 } });
  return new OneInputOperatorHarness<number, number>(
    asyncBatchOperatorFactory<number, number>((xs) => {
      sizes.push(xs.length);
      return service.call(xs);
    }, options),
    { clock, name: 'embed', maxSteps: 100_000 },
  );
}

// Thousands of records under the ManualClock: seconds on a loaded machine, not a wait on time.
describe('adaptive batching across a restore', { timeout: 60_000 }, () => {
  it('keeps what it learned: the first batches after a restore have the learned size, and no record is lost or sent twice', async () => {
    const clock = new ManualClock(0);
    const before: number[] = [];
    const first = harnessFor(clock, before);
    await first.open();
    await first.feed(Array.from({ length: 1500 }, (_, i) => i));
    expect(before.at(-1)).toBe(75);
    const snapshot = first.snapshot(); // calls in flight, a batch in line: all restored as input
    const emittedBefore = first.getOutput();
    await first.close();

    const after: number[] = [];
    const second = harnessFor(new ManualClock(clock.now()), after);
    second.initializeState(snapshot);
    await second.open();
    expect(metric(second, 'adaptiveBatchSize')).toBe(75);
    await second.feed(Array.from({ length: 600 }, (_, i) => 1500 + i));
    await second.endInput();
    // The restored records (one call in flight, one in line) go again at once; then the new input,
    // in batches of the learned size from the start (a fresh tuner would start at 8).
    expect(after.slice(2, 8)).toEqual([75, 75, 75, 75, 75, 75]);
    const all = [...emittedBefore, ...second.getOutput()].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 2100 }, (_, i) => i));
  });

  it('restores at another parallelism from the union of what the subtasks learned', async () => {
    const clock = new ManualClock(0);
    const first = harnessFor(clock, []);
    await first.open();
    await first.feed(Array.from({ length: 1500 }, (_, i) => i));
    const lists = first.snapshot().listState;
    await first.close();
    const { shares, union } = redistributeListState([lists, { records: [] }], 3);
    const third = harnessFor(new ManualClock(clock.now()), []);
    third.initializeState({ listState: shares[2]! }, union);
    await third.open();
    expect(shares[2]!.batchPolicy).toEqual([]);
    expect(metric(third, 'adaptiveBatchSize')).toBe(75);
  });

  const learned = { size: 20, fit: [3, 60, 1200, 120, 2400], arrivalRate: 1, spread: [1, 1.2] };
  it.each([
    ['a size that is not a number', { size: 'big' }],
    // Weights with no records in them: the fit's per-record cost is 0 / 0, and the first wait NaN.
    ['a fit weighing calls of no records', { ...learned, fit: [1, 0, 0, 0, 0] }],
    ['a negative sum in the fit', { ...learned, fit: [3, -60, 1200, 120, 2400] }],
    ['an arrival rate that is not finite', { ...learned, arrivalRate: Number.POSITIVE_INFINITY }],
    ['a negative ratio in the spread', { ...learned, spread: [1, -1] }],
  ])('rejects a state that is not an adaptive batching state: %s', (_, state) => {
    const harness = harnessFor(new ManualClock(0), []);
    expect(() => harness.initializeState({ listState: { records: [], batchPolicy: [state] } })).toThrow(
      /^cannot restore async operator '?embed.*: its list 'batchPolicy' does not hold an adaptive batching state$/,
    );
  });

  it('restores what it wrote after calls answered at once (a ratio of 0 in the spread)', async () => {
    // Every tenth call answers in the same turn: 0 ms, where the fit predicted more.
    const withInstantCalls = (clock: ManualClock) => {
      const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 20, perItemMs: 1 } });
      let calls = 0;
      return new OneInputOperatorHarness<number, number>(
        asyncBatchOperatorFactory<number, number>((xs) => (++calls % 10 === 0 ? Promise.resolve([...xs]) : service.call(xs)), options),
        { clock, name: 'embed', maxSteps: 100_000 },
      );
    };
    const clock = new ManualClock(0);
    const first = withInstantCalls(clock);
    await first.open();
    await first.feed(Array.from({ length: 3000 }, (_, i) => i));
    const snapshot = first.snapshot();
    expect((snapshot.listState?.['batchPolicy'] as { spread: number[] }[])[0]!.spread).toContain(0);
    const emittedBefore = first.getOutput();
    await first.close();
    const second = withInstantCalls(new ManualClock(clock.now()));
    second.initializeState(snapshot);
    await second.open();
    await second.endInput();
    expect([...emittedBefore, ...second.getOutput()].sort((a, b) => a - b)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });
});

describe('adaptive batching options', () => {
  const where = "unorderedWaitBatch() ('UnorderedWaitBatch')";
  const fn = (xs: readonly number[]): number[] => [...xs];
  const cases: [string, Record<string, unknown>, string][] = [
    ['without maxBatchDelay', { maxBatchSize: 8, adaptive: true }, "option 'adaptive' needs 'maxBatchDelay' (> 0)"],
    ['not an object', { maxBatchSize: 8, maxBatchDelay: 5, adaptive: 'yes' }, "option 'adaptive' must be an object"],
    ['a bad target', { maxBatchSize: 8, maxBatchDelay: 5, adaptive: { targetLatency: 0 } }, "option 'adaptive.targetLatency' must be a finite number of milliseconds > 0, got 0"],
    ['an unknown field', { maxBatchSize: 8, maxBatchDelay: 5, adaptive: { target: 5 } }, "unknown option 'adaptive.target'"],
  ];
  it.each(cases)('%s', (_, given, message) => {
    const stream = StreamExecutionEnvironment.create().fromElements(1);
    const build = (): unknown => AsyncDataStream.unorderedWaitBatch(stream, fn, given as never);
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(`${where}: ${message}`);
  });

  it('does not exist on the per-record operators', () => {
    const stream = StreamExecutionEnvironment.create().fromElements(1);
    expect(() => AsyncDataStream.unorderedWait(stream, async (x: number) => x, { adaptive: true } as never)).toThrow("unknown option 'adaptive'");
  });
});
