/** Yields queued by {@link yieldToEventLoop} and not yet resumed: {@link drain} runs until none is left. */
let pendingYields = 0;

/**
 * Resumes on a later turn of the event loop, once the timers and I/O
 * callbacks already due have run. It is how tasks let each other, timers and
 * I/O run between turns of records, and how a source or sink hands work to a
 * later turn (the end of a read, a batched write); unlike a bare
 * `setImmediate`, {@link drain} knows of it and waits for it.
 *
 * @example
 * ```ts
 * async function* numbers() {
 *   for (let i = 0; i < 1_000_000; i++) {
 *     // Timers and other tasks run between chunks, and drain() waits for the source to go on.
 *     if (i % 1_000 === 0) await yieldToEventLoop();
 *     yield i;
 *   }
 * }
 * env.fromAsyncIterable(numbers());
 * ```
 */
export function yieldToEventLoop(): Promise<void> {
  pendingYields++;
  return new Promise((resolve) => {
    // eslint-disable-next-line no-restricted-globals -- the one place the runtime yields
    setImmediate(() => {
      pendingYields--;
      resolve();
    });
  });
}

/** Most event-loop turns {@link drain} takes before it gives up on work that keeps yielding. */
const MAX_DRAIN_TURNS = 100_000;

/**
 * Runs everything that is runnable without the clock or I/O: turns the event
 * loop (each turn drains the microtask queue, so settled promises deliver
 * their mails to the tasks' mailboxes) until, after a turn, no
 * {@link yieldToEventLoop} is pending (a task between two turns of records,
 * a source reading in chunks). Time does not move.
 *
 * It waits for what the runtime and its connectors queue, not for work it is
 * not told of: a bare `setImmediate` of user code gets the one turn every
 * drain takes, and I/O gets none. Gives up quietly after many turns: the
 * caller checks its own condition.
 */
export async function drain(): Promise<void> {
  await drainTurns(MAX_DRAIN_TURNS);
}

/**
 * {@link drain} for at most `maxTurns` turns of the event loop. Resolves true
 * once no {@link yieldToEventLoop} is pending, false when work kept yielding
 * through every turn (a source that never ends and never waits): for a caller
 * that must stay in control of a job that never rests, such as a test driver.
 */
export async function drainTurns(maxTurns: number): Promise<boolean> {
  for (let turn = 0; turn < maxTurns; turn++) {
    // eslint-disable-next-line no-restricted-globals -- drain's own turn, which it does not wait for
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (pendingYields === 0) return true;
  }
  return false;
}
