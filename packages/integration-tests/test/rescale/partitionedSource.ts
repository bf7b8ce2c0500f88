// Shown in docs/fault-tolerance.md ("Writing an operator, a sink or a source that rescales"); tested by examples.test.ts.
import type { Source } from '@tributary/core';

type Split = { readonly partition: number; readonly offset: number };
const PARTITIONS = 4;
const SIZE = 1_000;

/** Numbers 0..3999 in 4 partitions of 1,000; a split is a partition and the offset of its next record. */
export const partitioned: Source<number, Split[]> = {
  parallel: true,
  rescalable: true,
  createReader: ({ subtaskIndex, parallelism }) => {
    let splits: Split[] = [];
    return {
      start: (position) => {
        splits =
          position ??
          Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: 0 })).filter((s) => s.partition % parallelism === subtaskIndex);
      },
      read: (max) => {
        const split = splits[0];
        if (split === undefined) return null;
        const count = Math.min(max, SIZE - split.offset);
        const records = Array.from({ length: count }, (_, i) => split.partition * SIZE + split.offset + i);
        // A finished split leaves the position; an unfinished one moves its offset.
        splits = split.offset + count === SIZE ? splits.slice(1) : [{ ...split, offset: split.offset + count }, ...splits.slice(1)];
        return records;
      },
      position: () => splits,
    };
  },
};
