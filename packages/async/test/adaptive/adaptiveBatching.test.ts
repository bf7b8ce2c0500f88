import { seededRandom } from '@tributary/core';
import { FakeBatchService, ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { asyncBatchOperatorFactory, RetryStrategies, type WaitBatchOptions } from '../../src/index.js';
import { metric } from '../helpers.js';
import { lastSizes, quantile, saturatedRun, type Phase } from './driver.js';

// A service costing 20 ms a call plus 1 ms a record, and one four times slower per record and twice per call.
const FAST = { baseMs: 20, perItemMs: 1 };
const SLOW = { baseMs: 40, perItemMs: 2 };
const TARGET = 200;
const adaptive: WaitBatchOptions<number, number> = { maxBatchSize: 512, maxBatchDelay: TARGET, adaptive: { targetLatency: TARGET } };

/** The fixed size with the most throughput whose p95 stays under the target: the oracle a sweep finds. */
async function bestFixed(phase: Phase): Promise<{ size: number; throughput: number }> {
  let best = { size: 0, throughput: 0 };
  // Around the sizes that can meet the target (2 * (base + perItem * n) <= 200), wide enough to see the peak.
  for (let size = 20; size <= 110; size += 5) {
    const run = await saturatedRun({ maxBatchSize: size, maxBatchDelay: TARGET }, [phase]);
    const { throughput, p95 } = run.phases[0]!;
    if (p95 <= TARGET && throughput > best.throughput) best = { size, throughput };
  }
  return best;
}

const within = (value: number, reference: number, share: number): boolean => Math.abs(value - reference) <= share * reference;

// The sweeps run dozens of jobs under the ManualClock: seconds on a loaded machine, not a wait on time.
describe('adaptive batching: sizes chosen from the calls observed', { timeout: 120_000 }, () => {
  it('converges on a linear service to within 10% of the best fixed size, with its throughput and the latency target', async () => {
    const phase = { latency: FAST, records: 1500 };
    const oracle = await bestFixed(phase);
    expect(oracle.size).toBeGreaterThan(60); // two calls of about 200 ms: the p95 under backpressure

    const run = await saturatedRun(adaptive, [phase]);
    const steady = lastSizes(run, 0, 10).slice(0, -1); // the last call takes what end of input left
    for (const size of steady) expect(within(size, oracle.size, 0.1), `sizes ${steady.join(' ')} vs ${oracle.size}`).toBe(true);
    expect(run.phases[0]!.throughput).toBeGreaterThanOrEqual(0.9 * oracle.throughput);
    expect(run.phases[0]!.p95).toBeLessThanOrEqual(TARGET);
    expect(run.phases[0]!.emitted).toBe(1500);
  });

  it('without a target, grows to the size whose overhead is under 5% (here maxBatchSize) from a small first guess', async () => {
    const run = await saturatedRun({ maxBatchSize: 256, maxBatchDelay: 100, adaptive: true }, [{ latency: { baseMs: 40, perItemMs: 0.5 }, records: 6000 }]);
    const sizes = run.calls.map((c) => c.size);
    expect(sizes[0]).toBeLessThanOrEqual(8);
    expect(lastSizes(run, 0, 8).slice(0, -1)).toEqual(Array(7).fill(256));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256);
  });

  it('follows a step change of the service within 6 batches, both ways, to within 10% of the best fixed size of each phase', async () => {
    const phases = [
      { latency: FAST, records: 1500 },
      { latency: SLOW, records: 2000 },
      { latency: FAST, records: 1500 },
    ];
    const oracles = [await bestFixed(phases[0]!), await bestFixed(phases[1]!)];
    const run = await saturatedRun(adaptive, phases);
    for (const [phase, oracle] of [
      [1, oracles[1]!],
      [2, oracles[0]!],
    ] as const) {
      const sizes = run.calls.filter((c) => c.phase === phase).map((c) => c.size);
      const settled = sizes.slice(6, -1);
      expect(settled.length).toBeGreaterThan(10);
      for (const size of settled) expect(within(size, oracle.size, 0.1), `phase ${phase}: ${sizes.join(' ')} vs ${oracle.size}`).toBe(true);
      expect(run.phases[phase]!.throughput).toBeGreaterThanOrEqual(0.9 * oracle.throughput);
    }
    for (const p of run.phases) expect(p.p95).toBeLessThanOrEqual(TARGET);
    expect(run.phases.map((p) => p.emitted)).toEqual([1500, 2000, 1500]);
  });

  // S8's first step: four calls at once of up to 512 cheap records; then each record costs twenty times more.
  const CHEAP = { baseMs: 20, perItemMs: 0.05 };
  const DEAR = { baseMs: 30, perItemMs: 1 };
  const fourSlots: WaitBatchOptions<number, number> = { maxBatchSize: 512, maxBatchDelay: 50, maxInFlightBatches: 4, adaptive: { targetLatency: 250 } };

  it('meets the target after a step slow-down with records held: one cut, before the next batch, to what the slow calls afford', async () => {
    const run = await saturatedRun(fourSlots, [
      { latency: CHEAP, records: 10_000 },
      { latency: DEAR, records: 10_000 },
    ]);
    const sizes = run.calls.filter((c) => c.phase === 1).map((c) => c.size);
    const cut = sizes.findIndex((size) => size < 512);
    expect(sizes.slice(0, cut).length, 'the batches of 512 held at the step').toBeLessThanOrEqual(8);
    // 512 records took 542 ms: at that cost per record, 112 fit in half of 95% of the target. The first batch after the
    // step holds what the operator had room for, sent at once into the slot the call freed (here 48).
    expect(sizes[cut]).toBeLessThanOrEqual(112);
    // Two sizes seen, the fit is exact: (118.75 - 30) / 1 = 88, and no cut below it (the last call takes what end of input left).
    expect(sizes.slice(cut + 1, -1).every((size) => size === 88 || size === 112), sizes.join(' ')).toBe(true);
    expect(sizes.at(-2)).toBe(88);
    // A batch per call slot and one ready: a line of one batch, not of one per slot.
    expect(metric(run.harness, 'capacity')).toBe(5 * 88);
    // The records held at the step wait for the slow calls of 512; those that came once a slow call had returned meet the target.
    expect(run.phases[1]!.p95Known).toBeLessThanOrEqual(250);
    expect(run.phases.map((p) => p.emitted)).toEqual([10_000, 10_000]);
  });

  it('grows after a step speed-up, never cutting the size for calls that came back sooner', async () => {
    const run = await saturatedRun(fourSlots, [
      { latency: DEAR, records: 5000 },
      { latency: { baseMs: 5, perItemMs: 0.2 }, records: 10_000 },
    ]);
    const before = run.calls.filter((c) => c.phase === 0).map((c) => c.size);
    const sizes = run.calls.filter((c) => c.phase === 1).map((c) => c.size);
    const settled = before.at(-2)!;
    expect(within(settled, 88, 0.05), before.join(' ')).toBe(true);
    expect(Math.min(...sizes.slice(0, -1)), sizes.join(' ')).toBeGreaterThanOrEqual(settled);
    // 5 % overhead: 19 * 5 / 0.2 = 475 records, whose two calls (200 ms) fit the target.
    expect(sizes.at(-2)).toBe(475);
    expect(run.phases[1]!.p95Known).toBeLessThanOrEqual(250);
    expect(run.phases.map((p) => p.emitted)).toEqual([5000, 10_000]);
  });

  it('with a target the per-call overhead alone breaks, sends batches sized for throughput, not single records', async () => {
    // 300 ms a call and 0.01 ms a record, against a 250 ms target: two calls take 600 ms whatever their size.
    const run = await saturatedRun({ maxBatchSize: 256, maxBatchDelay: 100, maxInFlightBatches: 2, adaptive: { targetLatency: 250 } }, [
      { latency: { baseMs: 300, perItemMs: 0.01 }, records: 5000 },
    ]);
    const sizes = run.calls.map((c) => c.size);
    expect(run.phases[0]!.emitted).toBe(5000);
    expect(sizes.length, `first sizes ${sizes.slice(0, 20).join(' ')}`).toBeLessThan(60);
    expect(lastSizes(run, 0, 6).slice(0, -1)).toEqual(Array(5).fill(256));
  });

  it('under a steady arrival rate below saturation, keeps a batch open while its call slot is busy instead of lining up one-record calls', async () => {
    // A record every 5 ms into one call slot of a 20 ms + 1 ms a record service: batches of a few records keep up.
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: FAST });
    const sizes: number[] = [];
    const harness = new OneInputOperatorHarness<number, number>(
      asyncBatchOperatorFactory<number, number>(
        (xs) => {
          sizes.push(xs.length);
          return service.call(xs);
        },
        { ...adaptive, maxInFlightBatches: 1 },
      ),
      { clock, name: 'embed', maxSteps: 1_000_000 },
    );
    await harness.open();
    const arrival: number[] = [];
    for (let i = 0; i < 3000; i++) {
      await harness.setProcessingTime(i * 5);
      arrival[i] = clock.now();
      harness.processElement(i);
    }
    await harness.endInput();
    const out = harness.getTimedOutput();
    expect(out.map((r) => r.value).sort((a, b) => a - b)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const latencies = out.slice(600).map((r) => r.time - (arrival[r.value] as number));
    expect(quantile(latencies, 0.95)).toBeLessThanOrEqual(TARGET / 2);
    // Without the hold: calls of one record each (21 ms for 5 ms of arrivals), a line without end, and seconds of latency.
    expect(quantile(sizes.slice(100), 0.5)).toBeGreaterThanOrEqual(4);
  });

  it('sends a batch past its wait into a free call slot even while the operator is full (batchKey batches holding the rest)', async () => {
    // Call 1 (key 0) never answers; 52 records of keys 1-3 then fill the operator in batches of their keys.
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 10, perItemMs: 0 }, hangCalls: [1] });
    const harness = new OneInputOperatorHarness<number, number>(
      asyncBatchOperatorFactory<number, number>((xs, { signal }) => service.call(xs, { signal }), {
        maxBatchSize: 64,
        maxBatchDelay: 5,
        maxInFlightBatches: 2,
        batchKey: (x) => (x < 8 ? 0 : 1 + (x % 3)),
        adaptive: true,
      }),
      { clock, name: 'embed', maxSteps: 100_000 },
    );
    await harness.open();
    for (let i = 0; i < 8; i++) harness.processElement(i);
    await harness.setProcessingTime(1);
    for (let i = 8; i < 60; i++) await harness.feed([i]);
    // The other keys' records go out through the second slot (before: held until the hung call ended, here never).
    await harness.setProcessingTime(1_000);
    expect(harness.getOutput().sort((a, b) => a - b)).toEqual(Array.from({ length: 52 }, (_, i) => i + 8));
  });

  it.each([
    [1, 'call'],
    [8, 'calls'],
  ])('meets the target on a service whose call time follows its longest record, with %i %s in flight', async (inFlight) => {
    // Padding to the longest text: 20 ms + 0.1 ms per record and unit of the batch's longest length (1-50, most short).
    const lengthOf = (id: number) => {
      const h = Math.imul((id + 7919) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
      return Math.min(50, Math.floor(1 / (1 - ((h % 10_000) / 10_000) * 0.98)));
    };
    const padded: Phase = { latency: (xs) => 20 + 0.1 * xs.length * Math.max(...xs.map(lengthOf)), records: 12_000 };
    const adaptiveRun = await saturatedRun({ ...fourSlots, maxInFlightBatches: inFlight }, [padded]);
    // The best fixed size of a sweep (16-48), with 1 or 8 calls in flight: 24 records, p95 225 or 220 ms.
    const [fixed] = (await saturatedRun({ maxBatchSize: 24, maxBatchDelay: 50, maxInFlightBatches: inFlight }, [padded])).phases;
    // Before, with 8 in flight: 1.5x growth on each of the 8 calls of a size, to 395 records and 1.5 s calls, then cuts
    // to 1: p95 811 ms. With 1: a spread measured around the noisy fit's steep line, not the duration the sizes rested
    // on, so a slow call looked 1.06x the mean one: sizes of 30-36, p95 310 ms.
    expect(adaptiveRun.phases[0]!.emitted).toBe(12_000);
    expect(adaptiveRun.phases[0]!.p95, lastSizes(adaptiveRun, 0, 60).join(' ')).toBeLessThanOrEqual(250);
    expect(adaptiveRun.phases[0]!.throughput).toBeGreaterThanOrEqual(0.9 * fixed!.throughput);
  });

  it('meets the target on a service whose calls cost the square of their size, with one call in flight', async () => {
    const quadratic: Phase = { latency: (xs) => 10 + 0.01 * xs.length ** 2, records: 12_000 };
    const run = await saturatedRun({ ...fourSlots, maxInFlightBatches: 1 }, [quadratic]);
    // The best fixed size of a sweep (16-128): 32 records, p95 41 ms.
    const [fixed] = (await saturatedRun({ maxBatchSize: 32, maxBatchDelay: 50, maxInFlightBatches: 1 }, [quadratic])).phases;
    // Before: the line through calls of 50-120 records crosses zero, its overhead was cut to 0, and the spread measured
    // around it read every call as fast as predicted: sizes grew past what the target allows, p95 319 ms. The sizes
    // stay above the best (64-81 records where 32 give the most per second): about 0.75x its throughput.
    expect(run.phases[0]!.emitted).toBe(12_000);
    expect(run.phases[0]!.p95, lastSizes(run, 0, 60).join(' ')).toBeLessThanOrEqual(250);
    expect(run.phases[0]!.throughput).toBeGreaterThanOrEqual(0.7 * fixed!.throughput);
  });

  it('meets the target on a service whose calls take 2.5x as long half the time, sizing for the slow calls', async () => {
    // (20 + n) ms, or 2.5 times that, at random, one call in flight: two slow calls of n fit 237.5 ms for n <= 27.
    const random = seededRandom(1);
    const run = await saturatedRun({ ...fourSlots, maxInFlightBatches: 1 }, [
      { latency: (xs) => (20 + xs.length) * (random() < 0.5 ? 1 : 2.5), records: 12_000 },
    ]);
    expect(run.phases[0]!.emitted).toBe(12_000);
    // Before: sized for the mean call and the fit started again at each surprise, sizes of 3-98: p95 550-570 ms.
    expect(run.phases[0]!.p95, lastSizes(run, 0, 60).join(' ')).toBeLessThanOrEqual(250);
  });

  it('tells a change from the call that showed it: a far-off call waits for the next before it joins the fit', async () => {
    // Six calls of 20 ms + 1 ms a record, six of 60 ms + 3 ms a record, and so on. Fitted at once, the first slow call
    // (62 records after calls of 8-41) moved the fit so far that the second looked like it, so neither told a change;
    // the slow calls stayed in the spread as noise, and the size sank to 3-6 records for good.
    const run = await saturatedRun({ ...fourSlots, maxInFlightBatches: 1 }, [
      { latency: (xs, call) => (Math.floor(call / 6) % 2 === 1 ? 60 + 3 * xs.length : 20 + xs.length), records: 8000 },
    ]);
    expect(run.phases[0]!.emitted).toBe(8000);
    const sizes = run.calls.slice(100).map((c) => c.size);
    expect(quantile(sizes, 0.5), sizes.slice(0, 60).join(' ')).toBeGreaterThanOrEqual(16);
  });

  it('never starves a lone record: it goes within maxBatchDelay, and sooner once the arrival rate is known', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: FAST });
    const harness = new OneInputOperatorHarness<number, number>(
      asyncBatchOperatorFactory<number, number>((xs) => service.call(xs), adaptive),
      { clock, name: 'embed', maxSteps: 100_000 },
    );
    await harness.open();
    harness.processElement(-1);
    await harness.setProcessingTime(TARGET + FAST.baseMs + FAST.perItemMs);
    const [first] = harness.getTimedOutput();
    expect(first?.value).toBe(-1);

    // Learn from a busy stretch, then a lull, then one more record.
    for (let i = 0; i < 2000; i++) await harness.feed([i]);
    await harness.setProcessingTime(clock.now() + 1000);
    harness.clearOutput();
    const at = clock.now();
    harness.processElement(-2);
    await harness.setProcessingTime(at + TARGET + 21);
    const [lone] = harness.getTimedOutput();
    expect(lone?.value).toBe(-2);
    expect(lone!.time - at).toBeLessThan(50);
  });

  it('keeps every record under per-item failures and throttling, and still converges', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({
      clock,
      handler: (xs) => [...xs],
      latency: FAST,
      failItems: (x) => x % 97 === 0,
      throttleCalls: [6, 30],
      retryAfterMs: 50,
    });
    const failedOnce = new Set<number>();
    const harness = new OneInputOperatorHarness<number, number>(
      asyncBatchOperatorFactory<number, number>(
        async (xs) => {
          // Each poison item fails on its first attempt only.
          const out = await service.callPerItem(xs);
          return out.map((o, i) => {
            const x = xs[i] as number;
            if (!(o instanceof Error) || failedOnce.has(x)) return x;
            failedOnce.add(x);
            return o;
          });
        },
        { ...adaptive, maxInFlightBatches: 2, resultMode: 'per-item', retry: RetryStrategies.fixedDelay({ maxAttempts: 5, delayMs: 10 }) },
      ),
      { clock, name: 'embed', maxSteps: 1_000_000 },
    );
    await harness.open();
    await harness.feed(Array.from({ length: 4000 }, (_, i) => i));
    await harness.endInput();
    expect(harness.failure).toBeUndefined();
    const out = harness.getOutput();
    expect(out).toHaveLength(4000);
    expect(new Set(out).size).toBe(4000);
    expect(metric(harness, 'throttled')).toBe(2);
    const sizes = service.batchSizes();
    expect(Math.max(...sizes)).toBeLessThanOrEqual(512);
    expect(metric(harness, 'adaptiveBatchSize')).toBeGreaterThanOrEqual(72);
    expect(metric(harness, 'adaptiveBatchSize')).toBeLessThanOrEqual(88);
  });

  it('publishes the chosen size and wait as gauges', async () => {
    const run = await saturatedRun(adaptive, [{ latency: FAST, records: 2000 }]);
    expect(metric(run.harness, 'adaptiveBatchSize')).toBe(75);
    // Two calls of 95 ms leave 0.95 * 200 - 190 = 0 ms of the target to wait: the floor, 1 ms.
    expect(metric(run.harness, 'adaptiveBatchDelayMs')).toBe(1);
  });

  it('a fixed-size operator has no adaptive gauges', async () => {
    const run = await saturatedRun({ maxBatchSize: 8, maxBatchDelay: 10 }, [{ latency: FAST, records: 10 }]);
    expect(Object.keys(run.harness.metrics.snapshot()).filter((name) => name.startsWith('adaptive'))).toEqual([]);
  });
});
