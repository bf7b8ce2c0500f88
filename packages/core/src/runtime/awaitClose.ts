import type { Clock } from './Clock.js';
import { raceAbort } from './raceAbort.js';

/** Work the job stopped waiting for (a close, a checkpoint store, past `closeTimeoutMs`), which may still write. */
export interface AbandonedWork {
  /** `close() of 'archive'`, `store() of checkpoint 3 of the checkpoint storage`. */
  readonly what: string;
  readonly settled: Promise<unknown>;
}

/** What bounds the wait for a `close()`. */
export interface CloseBound {
  /** Aborted when the job is cancelled or fails. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly closeTimeoutMs: number;
}

/**
 * Waits for a `close()`: for as long as it takes while the job runs (a sink
 * may flush for long at the end of its input), then, once the job is
 * cancelled or failing, at most `closeTimeoutMs` more by the job's clock.
 * Resolves false when it gave up; rejects with what the close threw.
 * A close that settles after the timeout is ignored, its rejection too.
 */
export async function awaitClose(closing: Promise<unknown>, bound: CloseBound): Promise<boolean> {
  const closed = closing.then(() => true);
  if (!bound.signal.aborted && (await raceAbort(closed, bound.signal)) === true) return true;
  return new Promise<boolean>((resolve, reject) => {
    const { clock } = bound;
    const cancelTimer = clock.schedule(clock.now() + bound.closeTimeoutMs, () => resolve(false));
    closed.then(
      () => {
        cancelTimer();
        resolve(true);
      },
      (error: unknown) => {
        cancelTimer();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the close's own rejection through
        reject(error);
      },
    );
  });
}
