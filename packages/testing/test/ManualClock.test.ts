import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/index.js';

describe('ManualClock', () => {
  it('fires due timers in timestamp order, ties in scheduling order', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.schedule(30, () => fired.push('c@30'));
    clock.schedule(10, () => fired.push('a@10'));
    clock.schedule(20, () => fired.push('b1@20'));
    clock.schedule(20, () => fired.push('b2@20'));
    clock.schedule(40, () => fired.push('d@40'));

    await clock.advance(35);

    expect(fired).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.now()).toBe(35);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(40);
  });

  it('shows each timer the time it was due at', async () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    for (const at of [5, 15, 25]) clock.schedule(at, () => seen.push(clock.now()));
    await clock.setTime(100);
    expect(seen).toEqual([5, 15, 25]);
  });

  it('fires every timer exactly once', async () => {
    const clock = new ManualClock(0);
    let count = 0;
    clock.schedule(10, () => count++);
    await clock.advance(10);
    await clock.advance(10);
    await clock.setTime(100);
    expect(count).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires a timer scheduled by another timer within the same advance when it falls due', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.schedule(10, () => {
      fired.push(clock.now());
      clock.schedule(15, () => fired.push(clock.now()));
      clock.schedule(50, () => fired.push(clock.now()));
    });
    await clock.advance(20);
    expect(fired).toEqual([10, 15]);
  });

  it('lets promise work a timer started settle before the next timer fires', async () => {
    const clock = new ManualClock(0);
    const events: string[] = [];
    clock.schedule(10, () => {
      void Promise.resolve()
        .then(() => undefined)
        .then(() => events.push('promise of t10'));
    });
    clock.schedule(20, () => events.push('t20'));
    await clock.advance(20);
    expect(events).toEqual(['promise of t10', 't20']);
  });

  it('does not fire a cancelled timer, and cancelling twice or after firing is harmless', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const cancelA = clock.schedule(10, () => fired.push('a'));
    const cancelB = clock.schedule(10, () => fired.push('b'));
    cancelA();
    cancelA();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(10);
    cancelB();
    await clock.advance(10);
    expect(fired).toEqual(['b']);
  });

  it('refuses to go backwards', async () => {
    const clock = new ManualClock(100);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.setTime(99)).rejects.toThrow(/cannot go backwards/);
    expect(clock.now()).toBe(100);
    await clock.setTime(100); // staying put is allowed
    expect(clock.now()).toBe(100);
  });

  it('fires any schedule in sorted, stable order, each timer once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 5 }),
        async (ats, steps) => {
          const clock = new ManualClock(0);
          const fired: number[] = [];
          ats.forEach((at, i) => clock.schedule(at, () => fired.push(i)));
          for (const step of steps) await clock.advance(step);
          const now = clock.now();
          const expected = ats
            .map((at, i) => ({ at, i }))
            .filter(({ at }) => at <= now)
            .sort((x, y) => x.at - y.at || x.i - y.i)
            .map(({ i }) => i);
          expect(fired).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });
});
