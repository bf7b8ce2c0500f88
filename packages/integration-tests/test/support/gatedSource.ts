import type { Source } from '@tributary/core';

/** 0, 1, 2 ... up to a limit the test raises (waiting in between, as a broker source does), ending at `total`. */
export function gatedSource(total: number) {
  let limit = 0;
  let wake: (() => void) | undefined;
  const source: Source<number, number> = {
    createReader: () => {
      let next = 0;
      return {
        start: (position) => {
          next = position ?? 0;
        },
        read: async (max) => {
          if (next >= total) return null;
          while (next >= limit) await new Promise<void>((resolve) => (wake = resolve));
          const chunk: number[] = [];
          while (chunk.length < max && next < Math.min(limit, total)) chunk.push(next++);
          return chunk;
        },
        position: () => next,
      };
    },
  };
  return {
    source,
    openUntil(n: number) {
      limit = n;
      wake?.();
    },
  };
}
