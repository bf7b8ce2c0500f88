/**
 * Settles like `promise`, or with undefined as soon as `signal` aborts.
 *
 * Once the signal aborted, a rejection of `promise` is dropped: the job is
 * already stopping, and it must not become an unhandled rejection.
 *
 * Nothing stays attached once `promise` settles: a task waits millions of
 * times over a job's life, and a reaction left on a job-long promise per
 * wait would grow without bound. Waiters sit in a plain set behind one
 * abort listener per signal, because adding and removing an EventTarget
 * listener on every wait costs microseconds, paid at every channel hop.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    // Nobody waits for it any more, but its rejection (a read failing after cancel) must not go unhandled.
    promise.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  const waiters = abortWaiters(signal);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => {
      resolve(undefined);
    };
    waiters.add(onAbort);
    promise.then(
      (value) => {
        waiters.delete(onAbort);
        resolve(value);
      },
      (error: unknown) => {
        waiters.delete(onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the awaited promise's own rejection through
        reject(error);
      },
    );
  });
}

const waitersBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/** The waiters released when `signal` aborts, behind its one listener. */
function abortWaiters(signal: AbortSignal): Set<() => void> {
  let waiters = waitersBySignal.get(signal);
  if (waiters === undefined) {
    const created = new Set<() => void>();
    waitersBySignal.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        for (const release of created) release();
        created.clear();
      },
      { once: true },
    );
    waiters = created;
  }
  return waiters;
}
