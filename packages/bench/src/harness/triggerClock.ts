import { performance } from 'node:perf_hooks';
import type { Clock } from '@tributary/core';

/**
 * A clock on real time whose timers fire only when told to.
 *
 * `now()` reads `performance` (sub-millisecond, so a job's
 * `checkpointDurationMs` histogram gets fractions of a millisecond), but a
 * scheduled callback waits for {@link fire}: CK triggers the periodic
 * checkpoint at the moment it chooses (once all keys are in state) and the
 * core still measures it from trigger to completion on this clock.
 */
export class TriggerClock implements Clock {
  private pending: (() => void)[] = [];
  private waiters: (() => void)[] = [];

  now(): number {
    return performance.timeOrigin + performance.now();
  }

  schedule(_at: number, callback: () => void): () => void {
    this.pending.push(callback);
    for (const wake of this.waiters.splice(0)) wake();
    return () => {
      this.pending = this.pending.filter((c) => c !== callback);
    };
  }

  /** Runs every callback scheduled so far, whatever time it asked for; returns how many ran. */
  fire(): number {
    const due = this.pending.splice(0);
    for (const callback of due) callback();
    return due.length;
  }

  /** Resolves at the next `schedule` call (the checkpoint coordinator schedules the next checkpoint once one completes). */
  nextSchedule(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
