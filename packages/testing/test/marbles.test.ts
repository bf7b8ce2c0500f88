import { describe, expect, it } from 'vitest';
import { FakeBatchService, feedMarbles, ManualClock, OneInputOperatorHarness, toMarbles } from '../src/index.js';
import { expectBatches, expectBatchSizes, expectNoEmptyBatches, expectOutputMarbles } from '../src/vitest/index.js';
import { miniBatch } from './fixtures/MiniBatchOperator.js';

function setup(maxInFlight = 10) {
  const clock = new ManualClock(0);
  const service = new FakeBatchService<number, number[]>({
    clock,
    // Answers each input with itself; the operator below emits one record per batch to make batches visible.
    handler: (xs) => xs.map((x) => [x]),
    latency: { baseMs: 10, perItemMs: 0 },
  });
  const harness = new OneInputOperatorHarness(
    miniBatch<number, number[]>({
      call: async (inputs, signal) => [(await service.call(inputs, { signal })).flat()],
      maxBatchSize: 3,
      maxDelayMs: 30,
      maxInFlight,
    }),
    { clock },
  );
  return { clock, service, harness };
}

/** An open harness whose operator keeps every record it is fed, in `seen`. */
async function recording() {
  const seen: string[] = [];
  const harness = OneInputOperatorHarness.forProcessFunction<string, string>({
    processElement: (s) => {
      seen.push(s);
    },
  });
  await harness.open();
  return { seen, harness };
}

describe('feedMarbles', () => {
  it('feeds records at their frame times and ends the input at |', async () => {
    const { harness, service } = setup();
    await harness.open();
    await feedMarbles(harness, '(ab)-c---d-|', { frameMs: 10, values: { a: 1, b: 2, c: 3, d: 4 } });

    // a, b at 0 and c at 20 fill a batch of 3; d at 60 waits alone until end of input at 80.
    expect(service.calls.map((c) => [c.queuedAt, c.inputs])).toEqual([
      [20, [1, 2, 3]],
      [80, [4]],
    ]);
    expect(harness.getTimedOutput()).toEqual([
      { time: 30, value: [1, 2, 3] },
      { time: 90, value: [4] },
    ]);
    // The timeline docs/testing.md shows for this run.
    expectOutputMarbles(harness, '---3-----1', { frameMs: 10, symbol: (batch) => String(batch.length) });
  });

  it('fires timers due before a frame before feeding it', async () => {
    const { harness, service } = setup();
    await harness.open();
    // a at 0 times out at 30, before b (at 40) arrives.
    await feedMarbles(harness, 'a---b', { frameMs: 10, values: { a: 1, b: 2 } });
    expect(service.calls.map((c) => c.queuedAt)).toEqual([30]);
    expect(harness.clock.now()).toBe(40);
  });

  it('feeds as a task does: no record goes in while the operator is backpressured', async () => {
    // One batch in flight at a time: a second full batch backpressures until the first is answered (10 ms).
    const { harness, service } = setup(1);
    await harness.open();
    await feedMarbles(harness, '(abcdefgh)|', { frameMs: 10, values: { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8 } });
    // As harness.feed() (and a job's task) sends them; processElements would send [4, 5, 6] at 0 as well.
    expect(service.calls.map((c) => [c.queuedAt, c.inputs])).toEqual([
      [0, [1, 2, 3]],
      [10, [4, 5, 6]],
      [20, [7, 8]],
    ]);
    expect(service.maxConcurrency).toBe(1);
  });

  it('uses the symbols themselves as records when no values are given, and rejects unknown symbols', async () => {
    const { seen, harness } = await recording();
    await feedMarbles(harness, 'x y', { frameMs: 5 });
    expect(seen).toEqual(['x', 'y']);
    await expect(feedMarbles(harness, 'q', { frameMs: 5, values: { x: 'x' } })).rejects.toThrow(/'q'.*no entry in values/);
    await expect(feedMarbles(harness, '(x', { frameMs: 5 })).rejects.toThrow(/unclosed/);
  });

  it('refuses a diagram that would not feed what it draws, before feeding anything', async () => {
    const { seen, harness } = await recording();
    const refused: [string, RegExp][] = [
      ['a)b', /feedMarbles: '\)' without its '\(' in 'a\)b'/],
      ['(a-b)', /'-' inside a group/],
      ['(a|)', /'\|' inside a group/],
      ['a|b', /'b' after '\|'/],
      ['((a))', /nested '\('/],
    ];
    for (const [diagram, error] of refused) await expect(feedMarbles(harness, diagram, { frameMs: 5 })).rejects.toThrow(error);
    expect(seen).toEqual([]);
    await harness.setProcessingTime(100);
    // Frames before the clock's time would all go in at once, at 100.
    await expect(feedMarbles(harness, 'a-b', { frameMs: 20, startTime: 0 })).rejects.toThrow(
      "feedMarbles(): option 'startTime' (0) is before the harness clock's time (100); the clock never goes back",
    );
    await feedMarbles(harness, 'a-b|  ', { frameMs: 20 });
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('toMarbles', () => {
  it('draws one frame per character, grouping records of one frame', () => {
    const records = [
      { time: 10, value: 'a' },
      { time: 35, value: 'b' },
      { time: 39, value: 'c' },
    ];
    expect(toMarbles(records, { frameMs: 10 })).toBe('-a-(bc)');
    expect(toMarbles(records, { frameMs: 10, startTime: 10, symbol: (v) => v.toUpperCase() })).toBe('A-(BC)');
    expect(() => toMarbles(records, { frameMs: 10, startTime: 20 })).toThrow(/before startTime/);
  });

  it('refuses a symbol that is not one character, or is part of the syntax: the diagram would read as another timeline', () => {
    const batch = [{ time: 0, value: Array.from({ length: 10 }, (_, i) => i) }];
    // A batch of 10 drawn as '10' reads as a batch of 1, then one of 0.
    expect(() => toMarbles(batch, { frameMs: 10, symbol: (b) => String(b.length) })).toThrow(
      new TypeError("toMarbles(): symbol() must return one character other than '-', '(', ')', '|' and space, got '10'"),
    );
    for (const symbol of ['', '-', '(', ' ']) expect(() => toMarbles(batch, { frameMs: 10, symbol: () => symbol })).toThrow(/must return one character/);
    // One character, even outside the basic plane.
    expect(toMarbles(batch, { frameMs: 10, symbol: () => '🦀' })).toBe('🦀');
  });

  it('fails on a record it cannot draw instead of leaving it out', () => {
    // A harness on ManualClock(Date.now()): frame 170,000,000,000 is no array index, and the diagram came out ''.
    const late = [{ time: 1.7e12, value: 'a' }];
    expect(() => toMarbles(late, { frameMs: 10 })).toThrow(
      new RangeError('toMarbles(): a record at time 1700000000000 falls in frame 170000000000, past the 1000000 frames a diagram may hold; set startTime (the harness clock\'s start)'),
    );
    expect(toMarbles(late, { frameMs: 10, startTime: 1.7e12 - 10 })).toBe('-a');
    expect(() => toMarbles([{ time: Number.NaN, value: 'a' }], { frameMs: 10 })).toThrow(new RangeError("toMarbles(): a record's time must be a finite number, got NaN"));
  });
});

describe('@tributary/testing/vitest', () => {
  it('asserts batch boundaries, sizes and timelines', async () => {
    const { harness, service } = setup();
    await harness.open();
    await feedMarbles(harness, 'abcd|', { frameMs: 10, values: { a: 1, b: 2, c: 3, d: 4 } });
    expectBatches(service, [[1, 2, 3], [4]]);
    expectBatchSizes(service, [3, 1]);
    expectNoEmptyBatches(service);
    expectOutputMarbles(harness, '---3-1', { frameMs: 10, symbol: (batch) => String(batch.length) });
  });

  it('fails with the call log in the message', async () => {
    const { clock, service } = setup();
    const answers = [service.call([1]), service.call([])];
    await clock.advance(10);
    await Promise.all(answers);
    expect(() => expectBatches(service, [[1]])).toThrow(/#2 batch n=0 queued 0, served 0..10: ok/);
    expect(() => expectBatchSizes(service, [1, 1])).toThrow(/batch sizes/);
    expect(() => expectNoEmptyBatches(service)).toThrow(/empty batch/);
  });

  it('refuses to assert batches without a call log instead of passing on an empty one', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], keepCallLog: false });
    const answers = [service.call([]), service.call([1])];
    await clock.advance(0);
    await Promise.all(answers);
    const off = /needs the service's call log, and this FakeBatchService was created with keepCallLog: false/;
    expect(() => expectNoEmptyBatches(service)).toThrow(new RegExp(`^expectNoEmptyBatches\\(\\) ${off.source}`));
    expect(() => expectBatches(service, [])).toThrow(off);
    expect(() => expectBatchSizes(service, [])).toThrow(off);
  });
});
