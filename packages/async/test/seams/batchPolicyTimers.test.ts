import type { ProcessingTimeService } from '@tributary/core';
import { ManualClock } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { BatchAccumulator, type BatchTriggers } from '../../src/batching/BatchAccumulator.js';

/** Processing time on a ManualClock that records when timers were armed and how many were cancelled. */
class RecordingTimers implements ProcessingTimeService {
  readonly armed: number[] = [];
  cancelled = 0;

  constructor(private readonly clock: ManualClock) {}

  currentProcessingTime(): number {
    return this.clock.now();
  }

  registerTimer(at: number, callback: (timestamp: number) => void): () => void {
    this.armed.push(at);
    const cancel = this.clock.schedule(at, () => callback(at));
    return () => {
      this.cancelled++;
      cancel();
    };
  }

  get pendingTimers(): number {
    return this.clock.pendingTimers;
  }

  dispose(): void {}
}

type Step =
  | { readonly at: number; readonly add: number }
  | { readonly at: number; readonly addAll: readonly number[] }
  | { readonly at: number; readonly flushAll: true }
  | { readonly at: number };

interface Case {
  readonly name: string;
  readonly triggers?: Partial<BatchTriggers<number>>;
  readonly steps: readonly Step[];
  /** The close (1-based) whose batch fails the job: the owner throws, as the operator's failure policy does. */
  readonly failingClose?: number;
  /** Each closed batch with the time it closed. */
  readonly batches: readonly (readonly [number, readonly number[]])[];
  /** When each delay timer was armed for. */
  readonly armed: readonly number[];
  readonly cancelled: number;
}

const odd = (x: number): number => x % 2;

const cases: Case[] = [
  {
    name: 'armed once per open batch, at its first record plus the delay',
    steps: [{ at: 0, add: 1 }, { at: 10, add: 2 }, { at: 20, add: 3 }, { at: 100 }],
    batches: [[100, [1, 2, 3]]],
    armed: [100],
    cancelled: 0,
  },
  {
    name: 'a chunk arms once, at its end, for the batch it leaves open',
    triggers: { maxBatchSize: 5 },
    steps: [{ at: 0, addAll: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] }, { at: 100 }],
    batches: [
      [0, [1, 2, 3, 4, 5]],
      [0, [6, 7, 8, 9, 10]],
      [100, [11, 12]],
    ],
    armed: [100],
    cancelled: 0,
  },
  {
    name: 'a chunk that fills its batch arms none',
    triggers: { maxBatchSize: 5 },
    steps: [{ at: 0, addAll: [1, 2, 3, 4, 5] }, { at: 100 }],
    batches: [[0, [1, 2, 3, 4, 5]]],
    armed: [],
    cancelled: 0,
  },
  {
    name: 're-armed for the next batch after the timer flushed',
    steps: [{ at: 0, add: 1 }, { at: 150, add: 2 }, { at: 250 }],
    batches: [
      [100, [1]],
      [250, [2]],
    ],
    armed: [100, 250],
    cancelled: 0,
  },
  {
    name: "after a size flush the armed timer stays; firing before the newer batch's deadline, it re-arms for it",
    triggers: { maxBatchSize: 2 },
    steps: [{ at: 0, add: 1 }, { at: 0, add: 2 }, { at: 50, add: 3 }, { at: 100 }, { at: 149 }, { at: 150 }],
    batches: [
      [0, [1, 2]],
      [150, [3]],
    ],
    armed: [100, 150],
    cancelled: 0,
  },
  {
    name: 'after flushAll the timer finds no batch and flushes nothing',
    steps: [{ at: 0, add: 1 }, { at: 10, flushAll: true }, { at: 100 }],
    batches: [[10, [1]]],
    armed: [100],
    cancelled: 0,
  },
  {
    name: 'a close that fails the job ends the chunk; disposed after it, the timer is cancelled and nothing opens or closes afterwards',
    triggers: { maxBatchSize: 2 },
    failingClose: 2,
    steps: [{ at: 0, addAll: [1, 2, 3] }, { at: 10, addAll: [4, 5, 6, 7] }, { at: 200 }],
    batches: [
      [0, [1, 2]],
      [10, [3, 4]],
    ],
    armed: [100],
    cancelled: 1,
  },
  {
    name: 'a keyed batch sent by size takes its timer with it',
    triggers: { maxBatchSize: 2, batchKey: odd },
    steps: [{ at: 0, add: 1 }, { at: 0, add: 2 }, { at: 10, add: 3 }, { at: 100 }],
    batches: [
      [10, [1, 3]],
      [100, [2]],
    ],
    armed: [100, 100],
    cancelled: 1,
  },
  {
    name: 'no delay, no timer',
    triggers: { maxBatchDelay: 0 },
    steps: [{ at: 0, add: 1 }, { at: 1000, flushAll: true }],
    batches: [[1000, [1]]],
    armed: [],
    cancelled: 0,
  },
];

describe('BatchAccumulator: the delay timer', () => {
  it.each(cases)('$name', async ({ triggers, steps, failingClose, batches, armed, cancelled }) => {
    const clock = new ManualClock(0);
    const timers = new RecordingTimers(clock);
    const closed: [number, number[]][] = [];
    const failure = new Error('the batch failed the job');
    let failed = false;
    const accumulator = new BatchAccumulator<number, never>(
      { maxBatchSize: 10, maxBatchDelay: 100, maxBatchWeight: Number.POSITIVE_INFINITY, weigher: undefined, batchKey: undefined, capacity: 20, ...triggers },
      timers,
      undefined,
      {
        batchClosed: (records) => {
          if (closed.push([clock.now(), records]) === failingClose) throw failure;
        },
        atCapacity: false,
        callSlotFree: true,
      },
    );
    for (const step of steps) {
      await clock.setTime(step.at);
      try {
        if ('add' in step) accumulator.add(step.add);
        else if ('addAll' in step) accumulator.addAll(step.addAll);
        else if ('flushAll' in step) accumulator.flushAll();
      } catch (error) {
        // As in a task: the failure ends the action, and the operator disposes its accumulator after it.
        expect(error).toBe(failure);
        failed = true;
        accumulator.dispose();
      }
    }
    expect(failed).toBe(failingClose !== undefined);
    expect(closed).toEqual(batches);
    expect(timers.armed).toEqual(armed);
    expect(timers.cancelled).toBe(cancelled);
    expect(accumulator.size).toBe(0);
  });
});
