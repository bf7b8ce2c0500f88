import { describe, expect, it } from 'vitest';
import { Histogram } from '../src/index.js';

describe('Histogram', () => {
  it('reports over its most recent window: the oldest values drop out, the count keeps every update', () => {
    const h = new Histogram(4);
    expect(h.snapshot()).toEqual({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, p99: 0 });
    expect(h.mean).toBe(0);
    for (const v of [100, 1, 7, 3, 5]) h.update(v); // 100 leaves the window of 4
    expect(h.snapshot()).toEqual({ count: 5, min: 1, max: 7, mean: 4, p50: 3, p95: 7, p99: 7 });
  });

  it('gives the window mean without a snapshot, equal to the snapshot\'s', () => {
    const h = new Histogram(3);
    h.update(2);
    expect(h.mean).toBe(2);
    for (const v of [10, 4, 6, 8]) h.update(v); // window: 4, 6, 8
    expect(h.mean).toBe(6);
    expect(h.mean).toBe(h.snapshot().mean);
  });
});
