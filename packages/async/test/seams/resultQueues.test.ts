import type { Output } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { KeyOrderedResultQueue } from '../../src/ordering/KeyOrderedResultQueue.js';
import { OrderedResultQueue } from '../../src/ordering/OrderedResultQueue.js';
import { UnorderedResultQueue, type ResultQueue } from '../../src/ordering/ResultQueue.js';
import type { ResultSlot } from '../../src/ordering/ResultSlot.js';

/** Records are strings whose first letter is their key: a1, b1, a2, b2. */
const INPUTS = ['a1', 'b1', 'a2', 'b2'];
const keyOf = (input: string): string => input.charAt(0);

type Kind = 'unordered' | 'ordered' | 'key-ordered';

function collecting(): { out: Output<string>; emitted: string[] } {
  const emitted: string[] = [];
  return { emitted, out: { collect: (v) => emitted.push(v), collectSide: () => undefined } };
}

function queueOf(kind: Kind, out: Output<string>): ResultQueue<string, string> {
  if (kind === 'unordered') return new UnorderedResultQueue(out);
  if (kind === 'ordered') return new OrderedResultQueue(out);
  return new KeyOrderedResultQueue(keyOf, out);
}

/** A queue with INPUTS admitted, each its own batch of one, as the operator places them. */
function filled(kind: Kind): { queue: ResultQueue<string, string>; emitted: string[]; slots: (readonly ResultSlot<string, string>[] | undefined)[] } {
  const { out, emitted } = collecting();
  const queue = queueOf(kind, out);
  const slots = INPUTS.map((input) => {
    const slot = queue.tagger?.append(input);
    return slot === undefined ? undefined : [slot];
  });
  queue.admit(INPUTS.length);
  return { queue, emitted, slots };
}

/** What the spec says leaves after each completion: unordered at once; ordered and key-ordered once all before it (in its lane) did. */
function expectedEmissions(kind: Kind, order: readonly number[]): string[][] {
  const done = new Set<number>();
  const left = new Set<number>();
  return order.map((i) => {
    done.add(i);
    if (kind === 'unordered') return [INPUTS[i]!.toUpperCase()];
    const now: string[] = [];
    for (let j = 0; j < INPUTS.length; j++) {
      const blocked = [...Array(j).keys()].some((k) => !left.has(k) && (kind === 'ordered' || keyOf(INPUTS[k]!) === keyOf(INPUTS[j]!)));
      if (done.has(j) && !left.has(j) && !blocked) {
        left.add(j);
        now.push(INPUTS[j]!.toUpperCase());
      }
    }
    return now;
  });
}

function permutations(xs: readonly number[]): number[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

const KINDS: Kind[] = ['unordered', 'ordered', 'key-ordered'];

describe('result queues: completion orders', () => {
  // Hand-written rows for the orders that matter; every other order is checked against the rule below.
  const cases: { kind: Kind; order: number[]; emitted: string[][] }[] = [
    { kind: 'unordered', order: [3, 2, 1, 0], emitted: [['B2'], ['A2'], ['B1'], ['A1']] },
    { kind: 'ordered', order: [3, 2, 1, 0], emitted: [[], [], [], ['A1', 'B1', 'A2', 'B2']] },
    { kind: 'ordered', order: [1, 0, 3, 2], emitted: [[], ['A1', 'B1'], [], ['A2', 'B2']] },
    { kind: 'key-ordered', order: [3, 2, 1, 0], emitted: [[], [], ['B1', 'B2'], ['A1', 'A2']] },
    { kind: 'key-ordered', order: [1, 2, 0, 3], emitted: [['B1'], [], ['A1', 'A2'], ['B2']] },
  ];
  it.each(cases)('$kind, completing $order, emits $emitted', ({ kind, order, emitted }) => {
    const { queue, emitted: out, slots } = filled(kind);
    const steps = order.map((i) => {
      const before = out.length;
      queue.completeItem(slots[i], 0, INPUTS[i]!.toUpperCase());
      return out.slice(before);
    });
    expect(steps).toEqual(emitted);
    expect(queue.size).toBe(0);
  });

  it.each(KINDS)('%s: every completion order of four records emits as the rule says, and empties the queue', (kind) => {
    for (const order of permutations([0, 1, 2, 3])) {
      const { queue, emitted, slots } = filled(kind);
      const steps = order.map((i) => {
        const before = emitted.length;
        queue.completeItem(slots[i], 0, INPUTS[i]!.toUpperCase());
        return emitted.slice(before);
      });
      expect(steps, `order ${order.join(',')}`).toEqual(expectedEmissions(kind, order));
      expect(queue.size).toBe(0);
    }
  });
});

describe('result queues: capacity and end of input', () => {
  // `size` is what counts against capacity, and endInput resolves when it reaches 0:
  // a completed record still waiting behind an earlier one keeps its place.
  const cases: { kind: Kind; sizes: number[] }[] = [
    { kind: 'unordered', sizes: [3, 2, 1, 0] },
    { kind: 'ordered', sizes: [4, 4, 4, 0] },
    { kind: 'key-ordered', sizes: [4, 4, 2, 0] },
  ];
  it.each(cases)('$kind: completing b2, a2, b1, a1 leaves sizes $sizes', ({ kind, sizes }) => {
    const { queue, slots } = filled(kind);
    expect(queue.size).toBe(4);
    const seen = [3, 2, 1, 0].map((i) => {
      queue.completeItem(slots[i], 0, INPUTS[i]!.toUpperCase());
      return queue.size;
    });
    expect(seen).toEqual(sizes);
  });

  it.each(KINDS)('%s: dead-lettered and fallback records leave their place like completed ones', (kind) => {
    const { queue, emitted, slots } = filled(kind);
    queue.completeItemWith(slots[0], 0, undefined);
    queue.completeItemWith(slots[1], 0, ['x', 'y']);
    queue.completeItemWith(slots[2], 0, []);
    queue.completeItem(slots[3], 0, 'B2');
    expect(emitted).toEqual(['x', 'y', 'B2']);
    expect(queue.size).toBe(0);
  });
});

describe('result queues: collect mode', () => {
  it.each(['unordered', 'ordered'] as const)('%s: a batch\'s outputs leave together, at its first record\'s place', (kind) => {
    const { out, emitted } = collecting();
    const queue = queueOf(kind, out);
    const tag = (input: string): ResultSlot<string, string> | undefined => queue.tagger?.append(input);
    const first = [tag('a1'), tag('b1')];
    const second = [tag('a2')];
    const slotsOf = (s: (ResultSlot<string, string> | undefined)[]) => (s[0] === undefined ? undefined : (s as ResultSlot<string, string>[]));
    queue.admit(3);
    queue.completeBatch(slotsOf(second), 1, ['z']);
    expect(emitted).toEqual(kind === 'unordered' ? ['z'] : []);
    queue.completeBatch(slotsOf(first), 2, ['x', 'y', 'w']);
    expect(emitted).toEqual(kind === 'unordered' ? ['z', 'x', 'y', 'w'] : ['x', 'y', 'w', 'z']);
    expect(queue.size).toBe(0);
  });
});

describe('result queues: checkpoints', () => {
  // Runs restore together on one subtask: each record alone, or one key's records together (key-ordered).
  const cases: { kind: Kind; entries: unknown[][] }[] = [
    // Unordered places nothing: the operator's held inputs are the state.
    { kind: 'unordered', entries: [[{ input: 'held' }]] },
    { kind: 'ordered', entries: [[{ input: 'a1' }], [{ outputs: ['B1'] }], [{ input: 'a2' }], [{ outputs: ['B2'] }]] },
    { kind: 'key-ordered', entries: [[{ input: 'a1' }, { input: 'a2' }]] },
  ];
  it.each(cases)('$kind: with b1 and b2 complete, the snapshot holds the runs $entries', ({ kind, entries }) => {
    const { queue, slots } = filled(kind);
    queue.completeItem(slots[1], 0, 'B1');
    queue.completeItem(slots[3], 0, 'B2');
    expect(queue.snapshot(() => ['held'])).toEqual(entries);
  });

  it.each(cases.filter((c) => c.kind !== 'unordered'))('$kind: restored completed results leave at their place in line', ({ kind }) => {
    const { out, emitted } = collecting();
    const queue = queueOf(kind, out);
    const pending = queue.tagger!.append('a1');
    queue.admit(1);
    queue.restoreCompleted({ outputs: ['A0'], key: 'a' });
    queue.restoreCompleted({ outputs: ['B0'], key: 'b' });
    expect(emitted).toEqual(kind === 'ordered' ? [] : ['B0']);
    queue.completeItem([pending], 0, 'A1');
    expect(emitted).toEqual(kind === 'ordered' ? ['A1', 'A0', 'B0'] : ['B0', 'A1', 'A0']);
    expect(queue.size).toBe(0);
  });

  it('unordered: restored results leave at once', () => {
    const { out, emitted } = collecting();
    const queue = queueOf('unordered', out);
    queue.restoreCompleted({ outputs: ['A0', 'A1'] });
    expect(emitted).toEqual(['A0', 'A1']);
    expect(queue.size).toBe(0);
  });

  it.each(KINDS)('%s: after clear, the snapshot holds only what the operator holds', (kind) => {
    const { queue } = filled(kind);
    queue.clear();
    expect(queue.snapshot(() => [])).toEqual([]);
  });
});
