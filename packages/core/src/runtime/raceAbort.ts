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
  return abortRaceOf(signal).race(promise);
}

/**
 * The waits raced against one signal, behind its one abort listener. Hot
 * code reads `aborted` here, never on the signal (why: docs/internals.md).
 */
export class AbortRace {
  private aborted: boolean;
  private readonly waiters = new Set<() => void>();

  constructor(signal: AbortSignal) {
    this.aborted = signal.aborted;
    signal.addEventListener(
      'abort',
      () => {
        this.aborted = true;
        for (const release of this.waiters) release();
        this.waiters.clear();
      },
      { once: true },
    );
  }

  /** Settles like `promise`, or with undefined as soon as the signal aborts (see {@link raceAbort}). */
  race<T>(promise: Promise<T>): Promise<T | undefined> {
    if (this.aborted) {
      // Nobody waits for it any more, but its rejection (a read failing after cancel) must not go unhandled.
      promise.catch(() => undefined);
      return Promise.resolve(undefined);
    }
    const waiters = this.waiters;
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
}

const racesBySignal = new WeakMap<AbortSignal, AbortRace>();

/** The one {@link AbortRace} of `signal`. */
export function abortRaceOf(signal: AbortSignal): AbortRace {
  let race = racesBySignal.get(signal);
  if (race === undefined) {
    race = new AbortRace(signal);
    racesBySignal.set(signal, race);
  }
  return race;
}
