import {
  KeyedProcessOperator,
  OutputTag,
  StreamExecutionEnvironment,
  subtaskForKey,
  ValueStateDescriptor,
  type KeyedProcessFunction,
  type OperatorContext,
  type OperatorFactory,
  type ValueState,
} from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { collect, KeyedOneInputOperatorHarness, ManualClock, runJobToCompletion } from '../src/index.js';

interface Event {
  readonly user: string;
  readonly amount: number;
}

const COUNT = new ValueStateDescriptor<number>('count', 0);
const negative = new OutputTag<Event>('negative');

/**
 * Counts a user's events and reports the count 100 ms after the user's
 * first event of a window (one timer per user and timestamp), then resets.
 */
function windowedCount(): KeyedProcessFunction<string, Event, string> & { count?: ValueState<number> } {
  return {
    open(ctx) {
      this.count = ctx.getState(COUNT);
    },
    processElement(event, ctx) {
      if (event.amount < 0) {
        ctx.output(negative, event);
        return;
      }
      if (event.user === 'boom') throw new Error(`cannot count ${event.user}`);
      const count = this.count!;
      const n = count.value()! + 1;
      count.update(n);
      // Each event asks for the same timer: the window's end, rounded to 100 ms.
      ctx.timerService.registerProcessingTimeTimer(Math.floor(ctx.timerService.currentProcessingTime() / 100) * 100 + 100);
    },
    onTimer(timestamp, ctx, out) {
      if (ctx.currentKey === 'timer-boom') throw new Error('timer failed');
      out.collect(`${ctx.currentKey}:${this.count!.value()}@${timestamp}`);
      this.count!.clear();
    },
  };
}

const byUser = (e: Event) => e.user;

async function openHarness(clock = new ManualClock(0)) {
  const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(windowedCount(), byUser, { clock });
  await harness.open();
  return harness;
}

describe('KeyedOneInputOperatorHarness', () => {
  it('fires one timer per (key, timestamp), once, with that key and its state in scope', async () => {
    const harness = await openHarness();
    harness.processElements([
      { user: 'ann', amount: 1 },
      { user: 'bob', amount: 1 },
      { user: 'ann', amount: 1 },
    ]);
    expect(harness.numProcessingTimeTimers()).toBe(2);
    expect(harness.getOutput()).toEqual([]);

    await harness.setProcessingTime(99);
    expect(harness.getOutput()).toEqual([]);

    await harness.setProcessingTime(100);
    expect(harness.getOutput()).toEqual(['ann:2@100', 'bob:1@100']);
    expect(harness.numProcessingTimeTimers()).toBe(0);
    expect(harness.valueState('ann', COUNT)).toBe(0);

    await harness.setProcessingTime(1_000);
    expect(harness.getOutput()).toHaveLength(2);
  });

  it('keeps each key in its own window', async () => {
    const harness = await openHarness();
    harness.processElement({ user: 'ann', amount: 1 });
    await harness.setProcessingTime(150);
    harness.processElement({ user: 'bob', amount: 1 });
    harness.processElement({ user: 'ann', amount: 1 });
    await harness.setProcessingTime(250);
    expect(harness.getOutput()).toEqual(['ann:1@100', 'bob:1@200', 'ann:1@200']);
  });

  it('round-trips keyed state and timers through snapshot and initializeState', async () => {
    const before = await openHarness();
    before.processElements([
      { user: 'ann', amount: 1 },
      { user: 'ann', amount: 1 },
      { user: 'bob', amount: 1 },
    ]);
    await before.setProcessingTime(150);
    before.processElement({ user: 'cid', amount: 1 });
    before.clearOutput();
    before.processElement({ user: 'cid', amount: 1 });

    const snapshot = before.snapshot();
    // The snapshot is a copy: later changes to the old harness do not leak into it.
    before.processElement({ user: 'cid', amount: 1 });

    // The restored operator starts later than the timer it inherits: it is overdue.
    const after = KeyedOneInputOperatorHarness.forKeyedProcessFunction(windowedCount(), byUser, { clock: new ManualClock(230) });
    after.initializeState(snapshot);
    await after.open();
    expect(after.numProcessingTimeTimers()).toBe(1);
    expect(after.valueState('cid', COUNT)).toBe(2);
    // ann's and bob's windows closed (and cleared their counts) before the snapshot.
    expect(after.keys(COUNT)).toEqual(['cid']);

    await after.setProcessingTime(230);
    expect(after.getOutput()).toEqual(['cid:2@200']);
    expect(after.numProcessingTimeTimers()).toBe(0);
  });

  it('restores timers that are not due yet and fires them on time', async () => {
    const before = await openHarness();
    before.processElement({ user: 'ann', amount: 1 });
    const after = KeyedOneInputOperatorHarness.forKeyedProcessFunction(windowedCount(), byUser);
    after.initializeState(before.snapshot());
    await after.open();
    await after.setProcessingTime(99);
    expect(after.getOutput()).toEqual([]);
    await after.setProcessingTime(100);
    expect(after.getOutput()).toEqual(['ann:1@100']);
  });

  it('collects side outputs apart from the main output', async () => {
    const harness = await openHarness();
    harness.processElements([
      { user: 'ann', amount: -5 },
      { user: 'ann', amount: 1 },
      { user: 'bob', amount: -1 },
    ]);
    expect(harness.getSideOutput(negative)).toEqual([
      { user: 'ann', amount: -5 },
      { user: 'bob', amount: -1 },
    ]);
    expect(harness.getSideOutput(new OutputTag<string>('unused'))).toEqual([]);
    expect(harness.getOutput()).toEqual([]);
  });

  it('rethrows an exception from processElement and records it as the failure', async () => {
    const harness = await openHarness();
    expect(() => harness.processElement({ user: 'boom', amount: 1 })).toThrow('cannot count boom');
    expect(harness.failure).toBeInstanceOf(Error);
    expect((harness.failure as Error).message).toBe('cannot count boom');
    expect(harness.signal.aborted).toBe(true);
  });

  it('records an exception thrown by a timer as the failure, and runs no more timers after it', async () => {
    const harness = await openHarness();
    harness.processElement({ user: 'timer-boom', amount: 1 });
    harness.processElement({ user: 'ann', amount: 1 });
    await harness.setProcessingTime(100);
    expect((harness.failure as Error).message).toBe('timer failed');
    // Both timers fire in one unit of task work; the exception ends it, as a failing job would.
    expect(harness.getOutput()).toEqual([]);
    // Like a failed task, the harness takes nothing more: a test cannot go on as if the job had.
    expect(() => harness.processElement({ user: 'ann', amount: 1 })).toThrow(/processElement\(\) after the task failed \(see harness.failure\): timer failed/);
    await expect(harness.setProcessingTime(300)).rejects.toThrow(/after the task failed/);
    await expect(harness.endInput()).rejects.toThrow(/after the task failed/);
    await harness.clock.setTime(300);
    expect(harness.getOutput()).toEqual([]);
  });

  it('routes by the key selector and rejects keys the runtime cannot route', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(windowedCount(), byUser);
    await harness.open();
    expect(harness.keyOf({ user: 'ann', amount: 1 })).toBe('ann');
    expect(() => harness.processElement({ user: undefined as unknown as string, amount: 1 })).toThrow(/key selector returned undefined/);
  });

  describe('end of input, as in a job', () => {
    /** Registers a timer 1 s after each key's record; a timer emits `key@time`. */
    const timerPerKey: KeyedProcessFunction<string, string, string> = {
      processElement(_value, ctx) {
        ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 1_000);
      },
      onTimer(timestamp, ctx, out) {
        out.collect(`${ctx.currentKey}@${timestamp}`);
      },
    };

    it('drops keyed timers still pending when the input ends: they never fire, as in a job', async () => {
      const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(timerPerKey, (s) => s);
      await harness.open();
      harness.processElements(['a', 'b']);
      await harness.endInput();
      await harness.setProcessingTime(5_000);
      expect(harness.getOutput()).toEqual([]);
      // Nor do they come back from a snapshot, as from a job's final checkpoint.
      expect(harness.snapshot().timers).toEqual([]);

      const clock = new ManualClock(0);
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
      const out = collect(env.fromElements('a', 'b').keyBy((s) => s).process(timerPerKey));
      await runJobToCompletion(env.executeAsync('timers at end of input'), clock);
      expect(out).toEqual(harness.getOutput());
    });

    it("fires keyed timers already due before the operator's endInput(), as a job does", async () => {
      const dueNow: KeyedProcessFunction<string, string, string> = {
        processElement(_value, ctx) {
          ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime());
        },
        onTimer(_timestamp, ctx, out) {
          out.collect(`timer ${ctx.currentKey}`);
        },
      };
      /** A keyed operator that flushes something of its own at end of input. */
      class Flushing extends KeyedProcessOperator<string, string, string> {
        constructor(private readonly flushTo: OperatorContext<string>) {
          super(flushTo, dueNow);
        }
        endInput(): void {
          this.flushTo.output.collect('endInput flush');
        }
      }
      const factory: OperatorFactory<string, string> = (ctx) => new Flushing(ctx);

      const harness = new KeyedOneInputOperatorHarness(factory, (s: string) => s);
      await harness.open();
      harness.processElement('a');
      await harness.endInput();
      expect(harness.getOutput()).toEqual(['timer a', 'endInput flush']);

      const clock = new ManualClock(0);
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
      const out = collect(env.fromElements('a').keyBy((s) => s).transform('Flushing', factory));
      await runJobToCompletion(env.executeAsync('due timers at end of input'), clock);
      expect(out).toEqual(harness.getOutput());
    });
  });

  describe('at parallelism above 1, as the runtime splits keys', () => {
    const SEEN = new ValueStateDescriptor<number>('seen', 0);
    /** Counts each key's records, and reports the count at t=100 (one timer per key). */
    const countPerKey = (): KeyedProcessFunction<string, string, string> & { seen?: ValueState<number> } => ({
      open(ctx) {
        this.seen = ctx.getState(SEEN);
      },
      processElement(_key, ctx) {
        this.seen!.update(this.seen!.value()! + 1);
        ctx.timerService.registerProcessingTimeTimer(100);
      },
      onTimer(_timestamp, ctx, out) {
        out.collect(`${ctx.currentKey}=${this.seen!.value()}`);
      },
    });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];

    it('restores into each subtask only the keyed state and timers of the keys it owns', async () => {
      const before = KeyedOneInputOperatorHarness.forKeyedProcessFunction(countPerKey(), (k: string) => k);
      await before.open();
      before.processElements(keys);
      const snapshot = before.snapshot();

      const outputs: string[] = [];
      for (const subtaskIndex of [0, 1]) {
        const after = KeyedOneInputOperatorHarness.forKeyedProcessFunction(countPerKey(), (k: string) => k, { parallelism: 2, subtaskIndex });
        after.initializeState(snapshot);
        await after.open();
        const owned = keys.filter((k) => subtaskForKey(k, 2) === subtaskIndex);
        expect(after.keys(SEEN).sort()).toEqual(owned);
        await after.setProcessingTime(100);
        expect(after.getOutput().sort()).toEqual(owned.map((k) => `${k}=1`));
        outputs.push(...after.getOutput());
      }
      // Every key once over both subtasks, as a job restored at parallelism 2 emits.
      expect(outputs.sort()).toEqual(keys.map((k) => `${k}=1`));
    });

    it('refuses a record whose key another subtask owns, naming that subtask', async () => {
      const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(countPerKey(), (k: string) => k, { parallelism: 2, subtaskIndex: 0 });
      await harness.open();
      const foreign = keys.find((k) => subtaskForKey(k, 2) === 1)!;
      const own = keys.find((k) => subtaskForKey(k, 2) === 0)!;
      expect(() => harness.processElement(foreign)).toThrow(
        new RegExp(`key "${foreign}" belongs to subtask 1 of 2 \\(by key group\\), but this harness is subtask 0: a job never sends it here`),
      );
      expect(() => harness.processChunk([own, foreign])).toThrow(/belongs to subtask 1 of 2/);
      harness.processElement(own);
      expect(harness.keys(SEEN)).toEqual([own]);
      expect(harness.failure).toBeUndefined();
    });
  });
});
