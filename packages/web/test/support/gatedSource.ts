import type { Source } from '@tributary/core';

/** A source of 0, 1, 2 ... that emits only below a limit the test raises; its position is the next number, so a restart resumes exactly. */
export function gatedSource(total: number) {
  let limit = 0;
  const waiting = new Set<() => void>();
  const source: Source<number, number> = {
    createReader: () => {
      let next = 0;
      return {
        start: (position) => {
          next = position ?? 0;
        },
        read: async (max) => {
          if (next >= total) return null;
          while (next >= limit) await new Promise<void>((resolve) => waiting.add(resolve));
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
      for (const wake of waiting) wake();
      waiting.clear();
    },
  };
}
