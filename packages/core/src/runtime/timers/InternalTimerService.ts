import type { Clock } from '../Clock.js';
import type { Key } from '../keyGroups.js';
import { TimestampHeap } from './TimestampHeap.js';

/** Pending keyed timers in a snapshot: timestamp and the keys that have a timer then. */
export type TimersSnapshot = [timestamp: number, keys: Key[]][];

/**
 * Keyed processing-time timers of one operator subtask.
 *
 * Timers are deduplicated per (key, timestamp), as in Flink. Only the
 * earliest timestamp holds a clock timer; when it fires, every timer due by
 * then fires in timestamp order with its key set as the current key.
 * Restored timers wait for {@link arm}: the task arms them once its operators
 * are open, so that none fires into an operator (or a sink) not yet open.
 */
export class InternalTimerService {
  /** timestamp -> keys with a timer at that time; insertion order is firing order within a timestamp. */
  private readonly byTime = new Map<number, Set<Key>>();
  /** Each timestamp of `byTime` once, and timestamps whose timers were all deleted until they come to the top. */
  private readonly times = new TimestampHeap();
  private scheduledAt: number | undefined;
  private cancelScheduled: (() => void) | undefined;
  private armed = true;

  constructor(
    private readonly clock: Clock,
    /** Runs the firing as a unit of task work (errors fail the job). */
    private readonly execute: (action: () => void) => void,
    /** Fires one timer: the operator sets `key` as current key and calls user code. */
    private readonly onTimer: (timestamp: number, key: Key) => void,
  ) {}

  register(key: Key, timestamp: number): void {
    let keys = this.byTime.get(timestamp);
    if (keys === undefined) {
      this.byTime.set(timestamp, (keys = new Set()));
      this.times.push(timestamp);
    }
    keys.add(key);
    this.reschedule();
  }

  delete(key: Key, timestamp: number): void {
    const keys = this.byTime.get(timestamp);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.byTime.delete(timestamp);
    this.reschedule();
  }

  /** Number of pending (key, timestamp) timers. */
  get size(): number {
    let n = 0;
    for (const keys of this.byTime.values()) n += keys.size;
    return n;
  }

  snapshot(): TimersSnapshot {
    return [...this.byTime].map(([t, keys]) => [t, [...keys]]);
  }

  /** Re-registers snapshotted timers, to start with {@link arm}; overdue ones fire as soon as the clock schedules them then. */
  restore(snapshot: TimersSnapshot): void {
    this.armed = false;
    for (const [t, keys] of snapshot) for (const k of keys) this.register(k, t);
  }

  /** Starts the clock timer of the timers restored before the operators opened. */
  arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.reschedule();
  }

  /**
   * The input ended and the operator flushed: timers not yet due are dropped (as in Flink), so that they neither
   * fire while the task waits for the final checkpoint nor come back from the final snapshot in a restore.
   */
  dropPending(): void {
    this.dispose();
    this.byTime.clear();
    while (this.times.peek() !== undefined) this.times.pop();
  }

  /** Stops the clock timer (task ended); pending timers stay in the snapshot. */
  dispose(): void {
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
    this.scheduledAt = undefined;
  }

  /** The earliest timestamp with timers; those whose timers were all deleted leave the heap on the way. */
  private earliest(): number | undefined {
    const times = this.times;
    for (let t = times.peek(); t !== undefined; t = times.peek()) {
      if (this.byTime.has(t)) return t;
      times.pop();
    }
    return undefined;
  }

  private reschedule(): void {
    if (!this.armed) return;
    const next = this.earliest();
    if (next === this.scheduledAt) return;
    this.cancelScheduled?.();
    this.scheduledAt = next;
    this.cancelScheduled =
      next === undefined
        ? undefined
        : this.clock.schedule(next, () => {
            this.scheduledAt = undefined;
            this.cancelScheduled = undefined;
            this.execute(() => {
              this.fireDue();
            });
          });
  }

  /** Fires every timer due now, in timestamp order; run as task work (the clock's call, the end of a bounded input). */
  fireDue(): void {
    const now = this.clock.now();
    for (let t = this.earliest(); t !== undefined && t <= now; t = this.earliest()) {
      const keys = this.byTime.get(t);
      this.byTime.delete(t);
      this.times.pop();
      // A timer registered for `t` while `t` fires (same key or another) is a new timer: it fires in the next round.
      for (const key of keys ?? []) this.onTimer(t, key);
    }
    this.reschedule();
  }
}
