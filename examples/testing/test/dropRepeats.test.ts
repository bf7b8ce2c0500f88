// How to test a keyed process function with keyed state and timers:
// KeyedOneInputOperatorHarness runs it as the job would, key by key, and
// fires its timers when the test sets the processing time.
import { describe, expect, it } from 'vitest';
import { KeyedOneInputOperatorHarness } from '@tributary/testing';
import { DropRepeats, type Event } from '../src/dedupe.js';

const byId = (e: Event) => e.id;
const event = (id: string, payload = id) => ({ id, payload });

describe('DropRepeats', () => {
  it('lets the first event of an id through and drops its repeats', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new DropRepeats(60_000), byId);
    await harness.open();

    harness.processElements([event('a', 'first'), event('b'), event('a', 'again')]);

    expect(harness.getOutput()).toEqual([event('a', 'first'), event('b')]);
    expect(harness.numProcessingTimeTimers()).toBe(2); // one per id
  });

  it('forgets an id once its time is up, and accepts it again', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new DropRepeats(60_000), byId);
    await harness.open();
    harness.processElement(event('a', 'first'));

    await harness.setProcessingTime(59_999);
    harness.processElement(event('a', 'dropped'));
    await harness.setProcessingTime(60_000); // the timer fires and clears the id's state
    harness.processElement(event('a', 'accepted'));

    expect(harness.getOutput().map((e) => e.payload)).toEqual(['first', 'accepted']);
    expect(harness.numProcessingTimeTimers()).toBe(1); // the new one, for 120_000
  });

  it('remembers the ids across a snapshot and restore', async () => {
    const before = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new DropRepeats(60_000), byId);
    await before.open();
    before.processElement(event('a'));

    const after = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new DropRepeats(60_000), byId);
    after.initializeState(before.snapshot());
    await after.open();
    after.processElement(event('a', 'repeat'));
    await after.setProcessingTime(60_000);
    after.processElement(event('a', 'later'));

    expect(after.getOutput().map((e) => e.payload)).toEqual(['later']);
  });
});
