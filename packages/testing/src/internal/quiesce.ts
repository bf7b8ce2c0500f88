/** Most event-loop turns {@link quiesce} waits for other work to stop yielding. */
const MAX_TURNS = 100_000;

/**
 * Waits until pending promise work has run out: turns the event loop (each
 * turn drains the microtask queue) until, after a turn, no other
 * `setImmediate` callback is queued. The runtime's tasks yield with
 * `setImmediate` while they still have records to move, so this returns once
 * everything that needs neither the clock nor I/O has happened.
 * Gives up quietly after many turns: the caller checks its own condition.
 */
export async function quiesce(): Promise<void> {
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!process.getActiveResourcesInfo().includes('Immediate')) return;
  }
}
