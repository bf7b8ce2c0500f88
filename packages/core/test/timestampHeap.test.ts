import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/index.js';
import { TimestampHeap } from '../src/runtime/timers/TimestampHeap.js';

describe('TimestampHeap', () => {
  it('pops what was pushed in ascending order, with pushes and pops interleaved', () => {
    const random = seededRandom(7);
    const heap = new TimestampHeap();
    const reference: number[] = [];
    const popped: number[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 5_000; i++) {
      if (reference.length > 0 && random() < 0.4) {
        reference.sort((a, b) => a - b);
        expected.push(reference.shift()!);
        popped.push(heap.pop()!);
      } else {
        const t = Math.floor(random() * 1_000);
        reference.push(t);
        heap.push(t);
      }
      expect(heap.peek()).toBe(reference.length === 0 ? undefined : Math.min(...reference));
    }
    expect(popped).toEqual(expected);
    while (reference.length > 0) {
      reference.sort((a, b) => a - b);
      expect(heap.pop()).toBe(reference.shift());
    }
    expect(heap.pop()).toBeUndefined();
  });

  it('is empty after popping everything', () => {
    const heap = new TimestampHeap();
    for (const t of [3, 1, 2]) heap.push(t);
    expect([heap.pop(), heap.pop(), heap.pop(), heap.pop()]).toEqual([1, 2, 3, undefined]);
    expect(heap.peek()).toBeUndefined();
  });
});
