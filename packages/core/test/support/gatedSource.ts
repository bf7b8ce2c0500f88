import type { ManualClock, Source } from '../../src/index.js';

/**
 * A limit the test raises: readers wait in `past(n)` until numbers below `n`
 * are let through (as a broker source waits for data). Shared by the gated
 * sources of the tests.
 */
export function limitGate(initial = 0) {
  let limit = initial;
  // Every reader that waits (several subtasks, or a restarted job's new reader beside the old one).
  const waiting = new Set<() => void>();
  return {
    get limit() {
      return limit;
    },
    /** Resolves once `n` is below the limit. */
    async past(n: number): Promise<void> {
      while (n >= limit) await new Promise<void>((resolve) => waiting.add(resolve));
    },
    /** Lets the readers emit up to (excluding) `n`. */
    openUntil(n: number) {
      limit = n;
      for (const wake of waiting) wake();
      waiting.clear();
    },
  };
}

/**
 * A source of 0, 1, 2 ... that emits only up to a limit the test raises,
 * waiting in `read()` in between (as a broker source waits for data), and
 * ends at `total`. Its position is the next number, so it resumes exactly.
 */
export function gatedSource(total: number) {
  const gate = limitGate();
  const source: Source<number, number> = {
    createReader: () => {
      let next = 0;
      return {
        start: (position) => {
          next = position ?? 0;
        },
        read: async (max) => {
          if (next >= total) return null;
          await gate.past(next);
          const chunk: number[] = [];
          while (chunk.length < max && next < Math.min(gate.limit, total)) chunk.push(next++);
          return chunk;
        },
        position: () => next,
      };
    },
  };
  return { source, openUntil: (n: number) => gate.openUntil(n) };
}

/**
 * Waits until `predicate` holds: for real I/O (checkpoint files) to complete,
 * not for time to pass. Gives up after 20 s so a broken feature fails rather
 * than hangs.
 */
export async function until(predicate: () => boolean, what: string): Promise<void> {
  const giveUpAt = performance.now() + 20_000;
  while (!predicate()) {
    if (performance.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Runs a job under a manual clock until it settles: fires the next pending
 * timer when there is one, otherwise lets real I/O (files) make progress.
 */
export async function driveUntilDone(result: Promise<unknown>, clock: ManualClock): Promise<void> {
  let done = false;
  void result.then(
    () => (done = true),
    () => (done = true),
  );
  const giveUpAt = performance.now() + 20_000;
  while (!done) {
    if (performance.now() > giveUpAt) throw new Error('the job did not settle');
    const next = clock.nextTimerAt();
    if (next !== undefined) await clock.setTime(Math.max(next, clock.now()));
    else await new Promise((resolve) => setImmediate(resolve));
  }
}
