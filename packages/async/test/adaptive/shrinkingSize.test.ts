import { ManualClock } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { BatchAccumulator, type BatchTriggers } from '../../src/batching/BatchAccumulator.js';

describe('BatchAccumulator under a size that changes (adaptive batching)', () => {
  it('sends a batch holding more than a shrunk size as it is, and every record once, record by record or in chunks', () => {
    const clock = new ManualClock(0);
    let size = 10;
    const triggers: BatchTriggers<number> = {
      get maxBatchSize() {
        return size;
      },
      maxBatchDelay: 100,
      maxBatchWeight: Number.POSITIVE_INFINITY,
      weigher: undefined,
      batchKey: undefined,
      capacity: 100,
    };
    const closed: number[][] = [];
    const batches = new BatchAccumulator<number, never>(triggers, { registerTimer: () => () => undefined, currentProcessingTime: () => clock.now() } as never, undefined, {
      batchClosed: (records) => closed.push(records),
      atCapacity: false,
      callSlotFree: true,
    });
    batches.addAll([1, 2, 3, 4, 5]);
    size = 3;
    batches.addAll([6, 7, 8, 9]);
    expect(closed).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8],
    ]);
    batches.add(10);
    batches.add(11);
    size = 1;
    batches.add(12);
    batches.flushAll();
    expect(closed.slice(2)).toEqual([[9, 10, 11], [12]]);
    expect(batches.size).toBe(0);
  });
});
