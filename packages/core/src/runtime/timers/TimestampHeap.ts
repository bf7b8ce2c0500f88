/**
 * A min-heap of timestamps: the earliest in O(1), push and pop in O(log n).
 * The timer service keeps each timestamp that has timers here once, so that
 * finding the next one does not scan them all (Flink keeps timers in a
 * priority queue for the same reason).
 */
export class TimestampHeap {
  private readonly items: number[] = [];

  /** The earliest timestamp, or undefined when empty. */
  peek(): number | undefined {
    return this.items[0];
  }

  push(timestamp: number): void {
    const items = this.items;
    let i = items.length;
    items.push(timestamp);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as number) <= timestamp) break;
      items[i] = items[parent] as number;
      i = parent;
    }
    items[i] = timestamp;
  }

  /** Removes and returns the earliest timestamp. */
  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as number) < (items[left] as number) ? right : left;
      if ((items[child] as number) >= last) break;
      items[i] = items[child] as number;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
