import { Counter, type MetricGroup } from '../metrics/MetricRegistry.js';

/** One function for every task, so the hot path's call to it has one target. */
const performanceNow = (): number => performance.now();

/**
 * Where a task's wall time goes, split as Flink's task metrics split it:
 * busy (reading, records, timers, async callbacks), backpressured (waiting
 * for a full channel downstream or for an operator at its capacity) and idle
 * (waiting for input). Each stretch is charged to one of them or, for waits
 * that are none of these (a yield to other tasks, an end-of-input flush, a
 * checkpoint's asynchronous part, a close), to none. A stretch is counted
 * when it ends.
 */
export class TaskTime {
  busyTimeMs = new Counter();
  backPressuredTimeMs = new Counter();
  idleTimeMs = new Counter();
  private charged: Counter | undefined = undefined;
  private since = 0;

  /** @param now A monotonic time in ms; tests pass their own to count exact stretches. */
  constructor(private readonly now: () => number = performanceNow) {}

  /** Counts into the task's metrics: `busyTimeMs`, `backPressuredTimeMs` and `idleTimeMs` of `group` (the chain head's). */
  register(group: MetricGroup): void {
    this.busyTimeMs = group.counter('busyTimeMs');
    this.backPressuredTimeMs = group.counter('backPressuredTimeMs');
    this.idleTimeMs = group.counter('idleTimeMs');
  }

  /** The counter time goes to now, or undefined for none. */
  get current(): Counter | undefined {
    return this.charged;
  }

  /** Ends the current stretch (adding it to its counter) and charges what follows to `next`. Returns the time now. */
  switchTo(next: Counter | undefined): number {
    const now = this.now();
    const charged = this.charged;
    if (charged !== undefined) charged.count += now - this.since;
    this.charged = next;
    this.since = now;
    return now;
  }
}
