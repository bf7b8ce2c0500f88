import { describeValue, OptionChecker } from '../api/OptionChecker.js';
import { drain } from './eventLoop.js';

/**
 * Processing time, injected.
 *
 * Everything in the runtime that reads the time or waits for it asks a
 * `Clock`, never `Date.now()` or `setTimeout` directly, so that a test can
 * drive a whole job with a {@link ManualClock} and no real sleeps.
 *
 * @example
 * ```ts
 * const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0) });
 * ```
 */
export interface Clock {
  /** Current processing time in milliseconds. */
  now(): number;
  /**
   * Calls `callback` once, as soon as `now() >= at`. Returns a function that
   * cancels the call if it has not happened yet (calling it later is a no-op).
   * An `at` of `Infinity` never fires; `NaN` is a bug and throws a `RangeError`.
   */
  schedule(at: number, callback: () => void): () => void;
}

/** The longest delay `setTimeout` honours: a longer one fires after 1 ms. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The wall clock: `Date.now()` and `setTimeout`. The default of every environment.
 * A wait longer than `setTimeout` allows (about 24.8 days) is chained: the timer
 * re-arms until the time is due, so a 30-day timeout waits 30 days.
 */
export class SystemClock implements Clock {
  now(): number {
    // eslint-disable-next-line no-restricted-globals, no-restricted-properties -- the one place real time is read
    return Date.now();
  }

  schedule(at: number, callback: () => void): () => void {
    checkTime('SystemClock', at);
    if (at === Number.POSITIVE_INFINITY) return () => {};
    let handle: ReturnType<typeof setTimeout>;
    const arm = (): void => {
      const delay = at - this.now();
      // eslint-disable-next-line no-restricted-globals -- the one place real timers are set
      handle = delay > MAX_TIMER_DELAY_MS ? setTimeout(arm, MAX_TIMER_DELAY_MS) : setTimeout(callback, Math.max(0, delay));
    };
    arm();
    return () => {
      clearTimeout(handle);
    };
  }
}

/** A timer at NaN would fire at once on a system clock and never on a manual one: it is always a bug upstream. */
function checkTime(clock: string, at: number, method = 'schedule'): void {
  // A string would compare and add as text ('0' + '10' + 5 is '0105'); NaN compares false with everything.
  if (typeof at !== 'number') throw new TypeError(`${clock}.${method}: the time must be a number, got ${describeValue(at)}`);
  if (Number.isNaN(at)) throw new RangeError(`${clock}.${method}: the time must be a number, got NaN`);
}

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to.
 *
 * `advance(ms)` and `setTime(t)` fire every timer that falls due, in
 * timestamp order (ties in the order they were scheduled), and between
 * timers {@link drain} the work they started, so that the effects of one
 * timer (a batch dispatched, a retry scheduled) are visible before the next
 * one fires. An operator's timers reach it as mails of its task's mailbox.
 * Await them.
 *
 * Like Flink's `ManualClock`, it lives next to the runtime that uses it;
 * `@tributary/testing` re-exports it together with the harnesses.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * const fired: number[] = [];
 * clock.schedule(10, () => fired.push(clock.now()));
 * await clock.advance(15); // fired is [10], clock.now() is 15
 * ```
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(startTime = 0) {
    this.time = new OptionChecker('ManualClock').number('startTime', startTime, {});
  }

  now(): number {
    return this.time;
  }

  schedule(at: number, callback: () => void): () => void {
    checkTime('ManualClock', at);
    const timer: PendingTimer = { at, seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Number of scheduled, not yet fired or cancelled timers. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Timestamp of the earliest pending timer, or `undefined` when none is pending (a timer at `Infinity` never is due). */
  nextTimerAt(): number | undefined {
    return this.nextDue(Number.POSITIVE_INFINITY)?.at;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== 'number') throw new TypeError(`ManualClock.advance: ms must be a number >= 0, got ${describeValue(ms)}`);
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    await this.setTime(this.time + ms);
  }

  /** Moves time to `t` (never backwards), firing due timers in order. */
  async setTime(t: number): Promise<void> {
    // NaN or a string would pass the check below, fire timers and leave now() NaN or a string.
    checkTime('ManualClock', t, 'setTime');
    if (t < this.time) {
      throw new RangeError(`ManualClock.setTime: time cannot go backwards (now ${this.time}, asked ${t})`);
    }
    await drain();
    for (;;) {
      const due = this.nextDue(t);
      if (due === undefined) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.time = Math.max(this.time, due.at);
      due.callback();
      await drain();
    }
    this.time = t;
    await drain();
  }

  private nextDue(limit: number): PendingTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const timer of this.timers) {
      // As on the system clock, a timer at Infinity never fires, even at setTime(Infinity).
      if (timer.at > limit || timer.at === Number.POSITIVE_INFINITY) continue;
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) {
        best = timer;
      }
    }
    return best;
  }
}
