import { describe, expect, it } from 'vitest';
import { seededRandom } from '@tributary/core';
import { BatchSizeTuner } from '../../src/batching/BatchSizeTuner.js';

/** The clock of the calls: each starts when the one before ended, as with one call in flight. */
let now = 0;
const ok = (size: number, durationMs: number) => {
  const startedAt = now;
  now += durationMs;
  return { size, weight: 0, startedAt, durationMs, throttled: false, failed: false };
};
const bounds = { maxBatchSize: 100, maxBatchDelay: 50, targetLatency: Number.POSITIVE_INFINITY };

/** Feeds the tuner calls of a service costing `b + a * n` at the sizes it chooses. */
function learn(tuner: BatchSizeTuner, a: number, b: number, calls: number): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < calls; i++) {
    sizes.push(tuner.size);
    tuner.observe(ok(tuner.size, b + a * tuner.size));
  }
  return sizes;
}

/** Feeds the tuner `calls` calls of a service costing `cost(n)` ms, `slots` at once, each of the size chosen when it starts. */
function concurrent(tuner: BatchSizeTuner, cost: (n: number) => number, slots: number, calls: number): number[] {
  const out: { size: number; startedAt: number; end: number }[] = [];
  const sizes: number[] = [];
  const start = (at: number) => {
    sizes.push(tuner.size);
    out.push({ size: tuner.size, startedAt: at, end: at + cost(tuner.size) });
  };
  for (let i = 0; i < slots; i++) start(0);
  while (sizes.length < calls) {
    out.sort((x, y) => x.end - y.end);
    const { size, startedAt, end } = out.shift()!;
    tuner.observe({ size, weight: 0, startedAt, durationMs: end - startedAt, throttled: false, failed: false });
    start(end);
  }
  return sizes;
}

describe('BatchSizeTuner', () => {
  it('starts from a small guess and grows at most 1.5x a call', () => {
    const tuner = new BatchSizeTuner(bounds);
    const sizes = learn(tuner, 0.1, 50, 12);
    expect(sizes[0]).toBe(8);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeLessThanOrEqual(Math.ceil(sizes[i - 1]! * 1.5));
    expect(tuner.size).toBe(100); // the overhead share is still over 5% at maxBatchSize
  });

  it('settles where the overhead is 5% of a call: 19 * b / a', () => {
    const tuner = new BatchSizeTuner(bounds);
    learn(tuner, 2, 4, 30);
    expect(tuner.size).toBe(38);
  });

  it('leaves throttling to the concurrency limiter: no move on a throttled call, and every success grows as before', () => {
    const tuner = new BatchSizeTuner(bounds);
    learn(tuner, 0.1, 50, 3);
    const size = tuner.size;
    tuner.observe({ ...ok(size, 5), throttled: true, failed: true });
    expect(tuner.size).toBe(size);
    // Every other call throttled (a 429 with retry-after) must not pin the size: the successes between grow it.
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      tuner.observe(ok(tuner.size, 50 + 0.1 * tuner.size));
      tuner.observe({ ...ok(tuner.size, 5), throttled: true, failed: true });
      sizes.push(tuner.size);
    }
    expect(sizes[0]).toBe(Math.ceil(size * 1.5));
    expect(tuner.size).toBe(100);
  });

  it('learns nothing from failed calls', () => {
    const tuner = new BatchSizeTuner(bounds);
    learn(tuner, 2, 4, 30);
    for (let i = 0; i < 10; i++) tuner.observe({ ...ok(38, 1), failed: true });
    expect(tuner.size).toBe(38);
  });

  it('waits at least 1 ms and at most maxBatchDelay; with a target, what two calls leave of it', () => {
    const tuner = new BatchSizeTuner({ ...bounds, targetLatency: 100 });
    expect(tuner.wait).toBe(50);
    learn(tuner, 1, 10, 30);
    // 2 * (10 + n) <= 95 gives n = 37; two calls take 94 ms, leaving 1 ms.
    expect(tuner.size).toBe(37);
    expect(tuner.wait).toBe(1);
    const slow = new BatchSizeTuner({ ...bounds, maxBatchDelay: 1000 });
    slow.arrived(0, 0);
    slow.arrived(8, 100); // 0.08 records per ms: 8 records fill in 100 ms
    expect(slow.wait).toBe(200);
  });

  it('after a step slow-down, cuts to what the slow calls afford once, however many calls of the old size still end', () => {
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    learn(tuner, 0.05, 20, 30);
    expect(tuner.size).toBe(512);
    // Eight calls of 512 were out when the service slowed to 30 ms + 1 ms a record: 542 ms each.
    for (let i = 0; i < 8; i++) tuner.observe(ok(512, 542));
    // All per-record, as far as one size can tell: 512 * 118.75 / 542.
    expect(tuner.size).toBe(112);
    tuner.observe(ok(112, 30 + 112));
    expect(tuner.size).toBe(88); // (0.95 * 250 / 2 - 30) / 1
  });

  it('after a step speed-up, grows from the size it had rather than cutting it', () => {
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    learn(tuner, 1, 30, 30);
    expect(tuner.size).toBe(88);
    const sizes = learn(tuner, 0.2, 5, 12);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThanOrEqual(sizes[i - 1]!);
    expect(tuner.size).toBe(475); // 19 * 5 / 0.2: 5% overhead
  });

  it('does not shrink batches for a target the overhead alone breaks: the size then follows throughput', () => {
    // 300 ms a call whatever its size, against a 250 ms target: no size meets it, and smaller batches only lose throughput.
    const flat = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    const jitter = [0, 3, -2, 5, -4, 1, -3, 4, 2, -5];
    const sizes: number[] = [];
    for (let i = 0; i < 40; i++) {
      sizes.push(flat.size);
      flat.observe(ok(flat.size, 300 + (jitter[i % jitter.length] as number)));
    }
    // One cut while the first calls cannot tell overhead from per-record cost, then growth to maxBatchSize.
    expect(Math.min(...sizes.slice(2))).toBeGreaterThanOrEqual(3);
    expect(sizes.slice(-10)).toEqual(Array(10).fill(512));

    // 130 ms + 1 ms a record: at least 130 per call against 118.75 the target allows one. Calls of about 1.5x the
    // overhead: a smaller batch would save under a third of a call's time and lose over two thirds of its throughput.
    const steep = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    learn(steep, 1, 130, 30);
    expect(steep.size).toBe(65);
  });

  it('keeps meeting a target the overhead leaves room for, however little', () => {
    // 2 * (95 + 0.5 n) <= 237.5 gives n = 47 (half the overhead in records would be 95); 2 * (118 + 0.5 n) gives 1.
    for (const [overhead, size] of [
      [95, 47],
      [118, 1],
    ] as const) {
      const tight = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
      learn(tight, 0.5, overhead, 40);
      expect(tight.size).toBe(size);
    }
  });

  it('tells overhead from per-record cost with a smaller call when calls of one size would hold the size for good', () => {
    // 110 ms a call of any size: 8 records in 110 ms, all taken as per-record cost, afford 8 for the 118.75 ms a call may take.
    const flat = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    const sizes: number[] = [];
    for (let i = 0; i < 20; i++) {
      sizes.push(flat.size);
      flat.observe(ok(flat.size, 110));
    }
    expect(sizes.slice(0, 3)).toEqual([8, 6, 9]);
    expect(flat.size).toBe(512);
  });

  it('grows once per size tried while many calls are out, not once per call', () => {
    // Eight calls of 8 out at once: each end used to grow the size 1.5x, to 8 * 1.5^8 before a bigger call came back.
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 8; i++) tuner.observe({ size: 8, weight: 0, startedAt: 0, durationMs: 50 + i, throttled: false, failed: false });
    expect(tuner.size).toBe(12);
    tuner.observe({ size: 12, weight: 0, startedAt: 51, durationMs: 51, throttled: false, failed: false });
    expect(tuner.size).toBe(18);
  });

  it('measures the slope again when calls of one size keep an old one, so a change hidden at that size is found', () => {
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    learn(tuner, 1, 20, 60);
    expect(tuner.size).toBe(98); // (118.75 - 20) / 1
    // Now 115 ms + 0.005 ms a record: 115.5 ms at 98 records, as before; the slope kept from the old calls held 98 for good.
    const sizes = learn(tuner, 0.005, 115, 150);
    expect(sizes.slice(-10)).toEqual(Array(10).fill(512));
  });

  it('keeps a size when calls cost more than in proportion to it, rather than shrinking to 1 record and growing back', () => {
    // 10 ms + 0.01 ms x n², 8 calls at once: the line through calls of 40-90 records crosses zero, and the overhead
    // rule took that as no overhead at all, shrinking to 1 record (where 10 ms is all of a call) and growing back.
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    const sizes = concurrent(tuner, (n) => 10 + 0.01 * n * n, 8, 400);
    expect(Math.min(...sizes.slice(200))).toBeGreaterThanOrEqual(16);
  });

  it('leaves out a call that started before the service changed', () => {
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 50, targetLatency: 250 });
    learn(tuner, 1, 30, 30);
    expect(tuner.size).toBe(88);
    const start = now;
    // The service speeds up to 5 ms + 0.2 ms a record: the first call after tells, and the sizes grow.
    tuner.observe({ size: 88, weight: 0, startedAt: start + 1, durationMs: 5 + 0.2 * 88, throttled: false, failed: false });
    tuner.observe({ size: tuner.size, weight: 0, startedAt: start + 30, durationMs: 5 + 0.2 * tuner.size, throttled: false, failed: false });
    const grown = tuner.size;
    expect(grown).toBeGreaterThan(88);
    // A call sent before the change ends now, at the old 118 ms: it used to start the fit again and cut the size to 88.
    tuner.observe({ size: 88, weight: 0, startedAt: start, durationMs: 118, throttled: false, failed: false });
    expect(tuner.size).toBe(grown);
  });

  it('estimates the arrival rate of random arrivals without reading them faster than they come', () => {
    // Poisson arrivals at 0.2 records per ms: an average of 1 / gap read them at 0.77 (a median over the run).
    const random = seededRandom(3);
    const tuner = new BatchSizeTuner({ maxBatchSize: 512, maxBatchDelay: 1000, targetLatency: Number.POSITIVE_INFINITY });
    const estimates: number[] = [];
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += -Math.log(1 - random()) / 0.2;
      tuner.arrived(1, now);
      if (i > 1000 && i % 100 === 0) estimates.push(tuner.snapshot().arrivalRate);
    }
    estimates.sort((a, b) => a - b);
    const median = estimates[estimates.length >> 1]!;
    expect(median).toBeGreaterThan(0.16);
    expect(median).toBeLessThan(0.25);
    // The wait is twice the fill time at that rate: 2 * 8 records / 0.2 per ms = 80 ms.
    expect(tuner.wait).toBeGreaterThan(40);
  });

  it('restores what it learned', () => {
    const tuner = new BatchSizeTuner(bounds);
    learn(tuner, 2, 4, 30);
    const restored = new BatchSizeTuner(bounds);
    restored.restore(tuner.snapshot());
    expect(restored.size).toBe(38);
    expect(learn(restored, 2, 4, 5)).toEqual([38, 38, 38, 38, 38]);
  });
});
