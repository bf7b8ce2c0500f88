/**
 * Marks the worker threads that run slots, so that code which keeps records
 * in the thread it runs in (a test's `collect()` array) can refuse to run
 * there instead of collecting into an array nobody reads. A global symbol,
 * so that every copy of this package in the thread sees the same mark.
 */
const SLOT_THREAD: unique symbol = Symbol.for('tributary.slotThread') as typeof SLOT_THREAD;

/** Called once by a slot worker's entry module. */
export function markSlotThread(): void {
  (globalThis as Record<symbol, unknown>)[SLOT_THREAD] = true;
}

/**
 * Whether this is a slot's worker thread: code here runs in a slot of a job
 * on the `'slots'` runtime, and what it keeps in memory stays in this thread
 * (the main thread never sees it).
 */
export function isSlotThread(): boolean {
  return (globalThis as Record<symbol, unknown>)[SLOT_THREAD] === true;
}
