import type { Source } from '../../src/index.js';
import { limitGate } from './gatedSource.js';

/** One split of `unevenSplits`: numbers from `next` up to (excluding) `end`. */
export type Split = { readonly next: number; readonly end: number };

/**
 * Two splits, dealt round-robin: 0-19, which subtask 0 reads at once and
 * ends, and 100-199, which waits for `openUntil` (as a broker's partition
 * waits for data). Rescalable: a restore deals what is left to its subtasks.
 */
export function unevenSplits() {
  const gate = limitGate(100);
  const source: Source<number, Split[]> = {
    parallel: true,
    rescalable: true,
    createReader: ({ subtaskIndex, parallelism }) => {
      let splits: Split[] = [];
      return {
        start: (position) => {
          splits = position ?? [{ next: 0, end: 20 }, { next: 100, end: 200 }].filter((_, i) => i % parallelism === subtaskIndex);
        },
        read: async (max) => {
          const split = splits[0];
          if (split === undefined) return null;
          await gate.past(split.next);
          const count = Math.min(max, Math.min(split.end, gate.limit) - split.next);
          const records = Array.from({ length: count }, (_, i) => split.next + i);
          const next = split.next + count;
          splits = next === split.end ? splits.slice(1) : [{ next, end: split.end }, ...splits.slice(1)];
          return records;
        },
        position: () => splits,
      };
    },
  };
  return { source, openUntil: (n: number) => gate.openUntil(n) };
}

