import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, SystemClock } from '../src/index.js';

const DAY = 24 * 60 * 60 * 1000;
/** The first delay `setTimeout` cannot honour: Node fires it after 1 ms. */
const OVERFLOW = 2 ** 31;

describe('SystemClock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs on fake timers that fire an overflowing setTimeout after 1 ms, as Node does', () => {
    // Pins the premise of the tests below: without chaining, these timers would fire at once.
    const fired = vi.fn();
    setTimeout(fired, OVERFLOW);
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['2^31 - 1 ms', OVERFLOW - 1],
    ['2^31 ms', OVERFLOW],
    ['30 days', 30 * DAY],
    ['3 x 2^31 ms', 3 * OVERFLOW],
  ])('waits the whole %s, re-arming its timer until the time is due', (_, delay) => {
    const clock = new SystemClock();
    const fired = vi.fn();
    clock.schedule(clock.now() + delay, fired);
    vi.advanceTimersByTime(1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(delay - 2);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * DAY);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('cancels a chained timer after it re-armed', () => {
    const clock = new SystemClock();
    const fired = vi.fn();
    const cancel = clock.schedule(30 * DAY, fired);
    vi.advanceTimersByTime(26 * DAY);
    cancel();
    vi.advanceTimersByTime(10 * DAY);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fires a time in the past at once', () => {
    const clock = new SystemClock();
    const fired = vi.fn();
    clock.schedule(-5, fired);
    vi.advanceTimersByTime(0);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('never fires a timer at Infinity, and holds no timer for it', () => {
    const clock = new SystemClock();
    const fired = vi.fn();
    const cancel = clock.schedule(Number.POSITIVE_INFINITY, fired);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100 * 365 * DAY);
    expect(fired).not.toHaveBeenCalled();
    cancel();
  });

  it('throws on NaN instead of firing at once', () => {
    expect(() => new SystemClock().schedule(Number.NaN, () => {})).toThrow(/SystemClock\.schedule: the time must be a number, got NaN/);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('ManualClock', () => {
  it('fires a 30-day timer at 30 days, not 1 ms later', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.schedule(30 * DAY, () => fired.push(clock.now()));
    await clock.advance(1);
    expect(fired).toEqual([]);
    await clock.advance(30 * DAY - 2);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([30 * DAY]);
  });

  it('never fires a timer at Infinity', async () => {
    const clock = new ManualClock(0);
    const fired = vi.fn();
    clock.schedule(Number.POSITIVE_INFINITY, fired);
    await clock.advance(1e300);
    expect(fired).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(1);
  });

  it('throws on NaN, which would otherwise fire at once and make its own time NaN', () => {
    const clock = new ManualClock(0);
    expect(() => clock.schedule(Number.NaN, () => {})).toThrow(/ManualClock\.schedule: the time must be a number, got NaN/);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses setTime(NaN), naming the method, and keeps its time and timers', async () => {
    const clock = new ManualClock(5);
    const fired = vi.fn();
    clock.schedule(10, fired);
    await expect(clock.setTime(Number.NaN)).rejects.toThrow(/^ManualClock\.setTime: the time must be a number, got NaN$/);
    expect(clock.now()).toBe(5);
    expect(fired).not.toHaveBeenCalled();
    await expect(clock.advance(Number.NaN)).rejects.toThrow(/ManualClock\.advance/);
  });

  it('refuses a time that is not a number, naming the method and the argument, and keeps its time and timers', async () => {
    const clock = new ManualClock(0);
    const fired = vi.fn();
    clock.schedule(10, fired);
    // A string would concatenate: advance('10') then advance(5) made now() the string '0105'.
    await expect(clock.advance('10' as never)).rejects.toThrow(/^ManualClock\.advance: ms must be a number >= 0, got '10'$/);
    await expect(clock.setTime('100' as never)).rejects.toThrow(/^ManualClock\.setTime: the time must be a number, got '100'$/);
    await expect(clock.setTime(undefined as never)).rejects.toThrow(/^ManualClock\.setTime: the time must be a number, got undefined$/);
    expect(() => clock.schedule('5' as never, fired)).toThrow(/^ManualClock\.schedule: the time must be a number, got '5'$/);
    await clock.advance(5);
    expect(clock.now()).toBe(5);
    expect(fired).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(1);
  });

  it('does not count a timer at Infinity as the next one, and does not fire it even at setTime(Infinity)', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.schedule(Number.POSITIVE_INFINITY, () => fired.push(Number.POSITIVE_INFINITY));
    expect(clock.nextTimerAt()).toBeUndefined();
    clock.schedule(10, () => fired.push(10));
    expect(clock.nextTimerAt()).toBe(10);
    await clock.setTime(Number.POSITIVE_INFINITY);
    expect(fired).toEqual([10]);
  });
});
