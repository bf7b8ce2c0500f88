import { describe, expect, it } from 'vitest';
import { redistributeListState, subtaskForKey, type OperatorSnapshot } from '@tributary/core';
import { FakeBatchService, KeyedOneInputOperatorHarness, ManualClock } from '@tributary/testing';
import { asyncBatchOperatorFactory, RetryStrategies, type AsyncOperatorListState } from '../src/index.js';
import { ControlledCalls, batchHarness, keyedBatchHarness, range } from './helpers.js';

describe('snapshot and restore', () => {
  it('a half-filled batch and an in-flight batch at snapshot time are both delivered after restore', async () => {
    const before = new ControlledCalls<number, number>();
    const first = batchHarness(before.fn, { maxBatchSize: 3, maxBatchDelay: 1_000 });
    await first.open();
    first.processElements(range(1, 5)); // [1, 2, 3] in flight, [4, 5] buffered
    await first.drain();
    expect(before.batches()).toEqual([[1, 2, 3]]);
    const snapshot = first.snapshot();
    expect(snapshot.listState).toEqual({ records: [[{ input: 1 }], [{ input: 2 }], [{ input: 3 }], [{ input: 4 }], [{ input: 5 }]] });
    await first.close(); // the crash: nothing of the first instance is delivered

    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => xs.map((x) => x * 10) });
    const second = batchHarness<number, number>((xs, { signal }) => service.call(xs, { signal }), { maxBatchSize: 3, maxBatchDelay: 1_000 }, clock);
    second.initializeState(snapshot);
    await second.open();
    await second.drain();
    // Re-sent right after open, not held back by the delay.
    expect(service.calls.map((c) => [c.queuedAt, c.inputs])).toEqual([
      [0, [1, 2, 3]],
      [0, [4, 5]],
    ]);
    second.processElement(6);
    await second.endInput();
    expect(second.getOutput().sort((a, b) => a - b)).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('captures batches waiting for a call slot or a retry, with retry counters reset after restore', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 10, perItemMs: 0 }, failCalls: [1] });
    const first = batchHarness<number, number>((xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 2,
      maxInFlightBatches: 1,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 100 }),
    }, clock);
    await first.open();
    first.processElements([1, 2, 3, 4, 5, 6]);
    await first.setProcessingTime(15); // [1, 2] failed and waits for its retry; [3, 4] in flight; [5, 6] waits for a slot
    const state = first.snapshot().listState as AsyncOperatorListState<number, number>;
    expect(state.records.flat().map((e) => ('input' in e ? e.input : null)).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    await first.close();

    const attempts: number[] = [];
    const second = batchHarness<number, number>(
      (xs, { attempt }) => {
        attempts.push(attempt);
        return Promise.resolve(xs);
      },
      { maxBatchSize: 2 },
    );
    second.initializeState({ listState: state });
    await second.open();
    await second.endInput();
    expect(attempts).toEqual([1, 1, 1]);
    expect(second.getOutput().sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ordered mode keeps completed results waiting for earlier records, and their place', async () => {
    const before = new ControlledCalls<number, number>();
    const first = batchHarness(before.fn, { maxBatchSize: 2, maxInFlightBatches: 2, ordering: 'ordered' });
    await first.open();
    first.processElements([1, 2, 3, 4, 5]);
    await first.drain();
    before.call(1).resolve([30, 40]); // done, but waits for [1, 2]
    await first.drain();
    const snapshot = first.snapshot();
    expect(snapshot.listState).toEqual({ records: [[{ input: 1 }], [{ input: 2 }], [{ outputs: [30, 40] }], [{ input: 5 }]] });
    await first.close();

    const after = new ControlledCalls<number, number>();
    const second = batchHarness(after.fn, { maxBatchSize: 2, maxInFlightBatches: 2, ordering: 'ordered' });
    second.initializeState(snapshot);
    await second.open();
    await second.drain();
    expect(after.batches()).toEqual([[1, 2], [5]]); // [3, 4] is not called again
    after.call(1).resolve([50]);
    await second.drain();
    expect(second.getOutput()).toEqual([]);
    after.call(0).resolve([10, 20]);
    await second.drain();
    expect(second.getOutput()).toEqual([10, 20, 30, 40, 50]);
  });

  it('key-ordered mode stores the key of a waiting result, and each key\'s records as one run', async () => {
    const before = new ControlledCalls<string, string>();
    const first = keyedBatchHarness(before.fn, { maxBatchSize: 1, maxInFlightBatches: 4, ordering: 'key-ordered', resultMode: 'per-item' }, (s: string) => s[0] as string);
    await first.open();
    first.processElements(['a1', 'b1', 'a2']);
    await first.drain();
    before.call(2).resolve(['A2']); // waits for a1
    before.call(1).resolve(['B1']);
    await first.drain();
    expect(first.getOutput()).toEqual(['B1']);
    const snapshot = first.snapshot();
    expect(snapshot.listState).toEqual({ records: [[{ input: 'a1' }, { outputs: ['A2'], key: 'a' }]] });

    const after = new ControlledCalls<string, string>();
    const second = keyedBatchHarness(after.fn, { maxBatchSize: 1, maxInFlightBatches: 4, ordering: 'key-ordered', resultMode: 'per-item' }, (s: string) => s[0] as string);
    second.initializeState(snapshot);
    await second.open();
    second.processElement('b2');
    await second.drain();
    after.call(1).resolve(['B2']);
    await second.drain();
    expect(second.getOutput()).toEqual(['B2']);
    after.call(0).resolve(['A1']);
    await second.drain();
    expect(second.getOutput()).toEqual(['B2', 'A1', 'A2']);
  });

  it('after end of input the state is empty', async () => {
    const harness = batchHarness<number, number>((xs) => Promise.resolve(xs), { maxBatchSize: 2 });
    await harness.open();
    harness.processElements([1, 2, 3]);
    await harness.endInput();
    expect(harness.snapshot().listState).toEqual({ records: [] });
  });

  it('refuses a state that is not an async operator snapshot', () => {
    const harness = batchHarness<number, number>((xs) => Promise.resolve(xs), { maxBatchSize: 2 });
    expect(() => harness.initializeState({ operatorState: { offset: 3 } })).toThrow(
      "cannot restore async operator 'embed': its state is not an async operator snapshot (version 1)",
    );
  });

  it('restores the opaque state of a checkpoint written before list state', async () => {
    const harness = batchHarness<number, number>((xs) => Promise.resolve(xs.map((x) => x * 10)), { maxBatchSize: 2, ordering: 'ordered' });
    harness.initializeState({ operatorState: { version: 1, entries: [{ input: 1 }, { outputs: [20] }, { input: 3 }] } });
    await harness.open();
    await harness.endInput();
    expect(harness.getOutput()).toEqual([10, 20, 30]);
  });

  it.each([
    [2, 3],
    [2, 1],
    [3, 2],
  ])('restored at another parallelism (%i -> %i), every buffered and in-flight record is emitted exactly once', async (from, to) => {
    const snapshots: OperatorSnapshot[] = [];
    for (let s = 0; s < from; s++) {
      const calls = new ControlledCalls<number, number>();
      const old = batchHarness(calls.fn, { maxBatchSize: 3, maxBatchDelay: 1_000 });
      await old.open();
      old.processElements(range(s * 100, s * 100 + 4 + s)); // one batch in flight, the rest buffered
      await old.drain();
      snapshots.push(old.snapshot());
      await old.close();
    }
    const { shares } = redistributeListState(
      snapshots.map((s) => s.listState),
      to,
    );
    const outputs: number[] = [];
    for (const share of shares) {
      const restored = batchHarness<number, number>((xs) => Promise.resolve(xs), { maxBatchSize: 3 });
      restored.initializeState({ listState: share });
      await restored.open();
      await restored.endInput();
      outputs.push(...restored.getOutput());
    }
    const expected = Array.from({ length: from }, (_, s) => range(s * 100, s * 100 + 4 + s)).flat();
    expect(outputs.sort((a, b) => a - b)).toEqual(expected);
  });

  it("key-ordered mode restored at another parallelism keeps each key's records on one subtask, in order", async () => {
    const before = new ControlledCalls<string, string>();
    const first = keyedBatchHarness(before.fn, { maxBatchSize: 1, maxInFlightBatches: 8, ordering: 'key-ordered', resultMode: 'per-item' }, (s: string) => s[0] as string);
    await first.open();
    first.processElements(['a1', 'b1', 'a2', 'c1', 'b2', 'a3']);
    await first.drain();
    before.call(2).resolve(['A2']); // waits for a1
    await first.drain();
    const { shares } = redistributeListState([first.snapshot().listState], 2);
    const perSubtask: string[][] = [];
    for (const share of shares) {
      const calls: string[] = [];
      const restored = keyedBatchHarness(
        (xs: readonly string[]) => {
          calls.push(...xs);
          return Promise.resolve(xs.map((x) => x.toUpperCase()));
        },
        { maxBatchSize: 1, ordering: 'key-ordered', resultMode: 'per-item' },
        (s: string) => s[0] as string,
      );
      restored.initializeState({ listState: share });
      await restored.open();
      await restored.endInput();
      perSubtask.push(restored.getOutput());
    }
    const keysOf = (out: string[]) => new Set(out.map((o) => o[0]));
    expect([...keysOf(perSubtask[0]!)].filter((k) => keysOf(perSubtask[1]!).has(k))).toEqual([]);
    for (const out of perSubtask) for (const key of keysOf(out)) {
      const ofKey = out.filter((o) => o[0] === key);
      expect(ofKey).toEqual([...ofKey].sort());
    }
    expect(perSubtask.flat().sort()).toEqual(['A1', 'A2', 'A3', 'B1', 'B2', 'C1']);
  });

  it("key-ordered mode restored at another parallelism gives each key's waiting records to the subtask keyBy sends its new ones to", async () => {
    const before = new ControlledCalls<string, string>();
    const first = keyedBatchHarness(before.fn, { maxBatchSize: 1, maxInFlightBatches: 8, ordering: 'key-ordered', resultMode: 'per-item' }, (s: string) => s[0] as string);
    await first.open();
    first.processElements(['a1', 'b1', 'a2', 'c1', 'b2', 'a3', 'd1', 'e1', 'f1']);
    await first.drain();
    const { shares, union } = redistributeListState([first.snapshot().listState], 2);
    for (const [subtaskIndex, share] of shares.entries()) {
      const restored = new KeyedOneInputOperatorHarness<string, string, string>(
        asyncBatchOperatorFactory<string, string>((xs: readonly string[]) => Promise.resolve(xs.map((x) => x.toUpperCase())), {
          maxBatchSize: 1,
          ordering: 'key-ordered',
          resultMode: 'per-item',
        }),
        (s: string) => s[0] as string,
        { name: 'embed', parallelism: 2, subtaskIndex },
      );
      restored.initializeState({ listState: share }, union);
      await restored.open();
      // A new record of every key this subtask owns comes after the restored ones: keyBy sends it here.
      const owned = ['a', 'b', 'c', 'd', 'e', 'f'].filter((key) => subtaskForKey(key, 2) === subtaskIndex);
      restored.processElements(owned.map((key) => `${key}9`));
      await restored.endInput();
      const out = restored.getOutput();
      // Before, the runs were dealt round-robin: a key's restored records could land on the other subtask,
      // and its new record came out there without waiting for them.
      expect(new Set(out.map((o) => o[0]?.toLowerCase()))).toEqual(new Set(owned));
      for (const key of owned) {
        const ofKey = out.filter((o) => o[0]?.toLowerCase() === key);
        expect(ofKey.at(-1)).toBe(`${key.toUpperCase()}9`);
        expect(ofKey).toEqual([...ofKey].sort());
      }
    }
  });
});
