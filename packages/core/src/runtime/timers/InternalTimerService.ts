import type { Clock } from '../Clock.js';
import type { Key } from '../keyGroups.js';

/** Pending keyed timers in a snapshot: timestamp and the keys that have a timer then. */
export type TimersSnapshot = [timestamp: number, keys: Key[]][];

/**
 * Keyed processing-time timers of one operator subtask.
 *
 * Timers are deduplicated per (key, timestamp), as in Flink. Only the
 * earliest timestamp holds a clock timer; when it fires, every timer due by
 * then fires in timestamp order with its key set as the current key.
 */
export class InternalTimerService {
  /** timestamp -> keys with a timer at that time; insertion order is firing order within a timestamp. */
  private readonly byTime = new Map<number, Set<Key>>();
  private scheduledAt: number | undefined;
  private cancelScheduled: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    /** Runs the firing as a unit of task work (errors fail the job). */
    private readonly execute: (action: () => void) => void,
    /** Fires one timer: the operator sets `key` as current key and calls user code. */
    private readonly onTimer: (timestamp: number, key: Key) => void,
  ) {}

  register(key: Key, timestamp: number): void {
    let keys = this.byTime.get(timestamp);
    if (keys === undefined) this.byTime.set(timestamp, (keys = new Set()));
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

  /** Re-registers snapshotted timers; overdue ones fire as soon as the clock schedules them. */
  restore(snapshot: TimersSnapshot): void {
    for (const [t, keys] of snapshot) for (const k of keys) this.register(k, t);
  }

  /** Stops the clock timer (task ended); pending timers stay in the snapshot. */
  dispose(): void {
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
    this.scheduledAt = undefined;
  }

  private earliest(): number | undefined {
    let min: number | undefined;
    for (const t of this.byTime.keys()) if (min === undefined || t < min) min = t;
    return min;
  }

  private reschedule(): void {
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

  private fireDue(): void {
    const now = this.clock.now();
    for (let t = this.earliest(); t !== undefined && t <= now; t = this.earliest()) {
      const keys = this.byTime.get(t);
      this.byTime.delete(t);
      // A timer registered for `t` while `t` fires (same key or another) is a new timer: it fires in the next round.
      for (const key of keys ?? []) this.onTimer(t, key);
    }
    this.reschedule();
  }
}
