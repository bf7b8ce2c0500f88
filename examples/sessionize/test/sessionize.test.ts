import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock, StreamExecutionEnvironment } from '@tributary/core';
import { KeyedOneInputOperatorHarness, collect, runJobToCompletion } from '@tributary/testing';
import { formatSession, timeOfDay } from '../src/format.js';
import { Sessionizer, sessionizeJob, sessionsOf, type Click, type Session } from '../src/sessionize.js';

const click = (second: number, user: string, page = '/home'): Click => ({ second, user, page });
const byStart = (a: Session, b: Session) => a.firstSecond - b.firstSecond || a.user.localeCompare(b.user);

describe('Sessionizer (keyed harness)', () => {
  it('closes a session when the gap passes without a click, and a new click moves the timer', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new Sessionizer(1000), (c: Click) => c.user);
    await harness.open();

    harness.processElement(click(0, 'ana', '/home'));
    await harness.setProcessingTime(900);
    harness.processElement(click(1, 'ana', '/cart')); // the timer moves to 1900
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(1500);
    expect(harness.getOutput()).toEqual([]);

    await harness.setProcessingTime(1900);
    expect(harness.getOutput()).toEqual([{ user: 'ana', firstSecond: 0, lastSecond: 1, pages: ['/home', '/cart'] }]);
    expect(harness.numProcessingTimeTimers()).toBe(0);
  });

  it('keeps one session per user', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new Sessionizer(100), (c: Click) => c.user);
    await harness.open();
    harness.processElements([click(0, 'ana'), click(0, 'bo', '/help')]);
    await harness.setProcessingTime(50);
    harness.processElement(click(5, 'bo', '/pricing'));
    await harness.setProcessingTime(100);
    expect(harness.getOutput()).toEqual([{ user: 'ana', firstSecond: 0, lastSecond: 0, pages: ['/home'] }]);
    await harness.setProcessingTime(150);
    expect(harness.getOutput()[1]).toEqual({ user: 'bo', firstSecond: 0, lastSecond: 5, pages: ['/help', '/pricing'] });
  });

  it('counts the gap from when the replay emitted a click, however late the click arrives', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new Sessionizer(1000), (c: Click) => c.user);
    await harness.open();
    await harness.setProcessingTime(400);
    harness.processElement({ ...click(0, 'ana'), at: 0 }); // emitted at 0, arrives at 400: its session closes at 1000
    await harness.setProcessingTime(1000);
    expect(harness.getOutput()).toEqual([{ user: 'ana', firstSecond: 0, lastSecond: 0, pages: ['/home'] }]);
  });

  it('closes a session whose timer is due but has not fired before a later click of its user starts the next', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new Sessionizer(1000), (c: Click) => c.user);
    await harness.open();
    // Both arrive before the clock moves, as two clicks of one chunk do: the second came 1500 ms after the first.
    harness.processElements([
      { ...click(0, 'ana', '/home'), at: 0 },
      { ...click(90, 'ana', '/cart'), at: 1500 },
    ]);
    expect(harness.getOutput()).toEqual([{ user: 'ana', firstSecond: 0, lastSecond: 0, pages: ['/home'] }]);
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(2500);
    expect(harness.getOutput()[1]).toEqual({ user: 'ana', firstSecond: 90, lastSecond: 90, pages: ['/cart'] });
  });

  it('survives a restore: the open session and its timer come back', async () => {
    const before = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new Sessionizer(100), (c: Click) => c.user);
    await before.open();
    before.processElement(click(0, 'ana'));
    const after = KeyedOneInputOperatorHarness.forKeyedProcessFunction(new Sessionizer(100), (c: Click) => c.user);
    after.initializeState(before.snapshot());
    await after.open();
    await after.setProcessingTime(100);
    expect(after.getOutput()).toEqual([{ user: 'ana', firstSecond: 0, lastSecond: 0, pages: ['/home'] }]);
  });
});

const bundledClicks = () =>
  readFileSync(new URL('../data/clicks.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Click);

// A ManualClock needs the single-thread runtime: the graph is built on such an environment, as the job module builds it in slots.
const onManualClock = (clock: ManualClock) => StreamExecutionEnvironment.create({ parallelism: 2, runtime: 'single-thread', clock });

describe('the sessionize job under a manual clock (single-thread runtime)', () => {
  it('replays a log and closes sessions at the gap, in processing time', async () => {
    const clock = new ManualClock(0);
    const env = onManualClock(clock);
    // At 60x, a 10-minute gap is 10 s of processing time.
    const sessions = sessionsOf(
      env,
      [click(0, 'ana', '/home'), click(120, 'ana', '/search'), click(200, 'bo', '/help'), click(1000, 'ana', '/cart'), click(1100, 'bo', '/pricing')],
      { gapSeconds: 600, speed: 60 },
    );
    const closed: { at: number; session: Session }[] = [];
    sessions.addSink((session) => {
      closed.push({ at: clock.now(), session });
    });

    const result = await runJobToCompletion(env.executeAsync('sessionize'), clock);

    expect(result.status).toBe('finished');
    expect(closed).toEqual([
      // ana's second click came at 2 s: her first session closes at 2 s + 10 s.
      { at: 12_000, session: { user: 'ana', firstSecond: 0, lastSecond: 120, pages: ['/home', '/search'] } },
      { at: 13_333.333333333334, session: { user: 'bo', firstSecond: 200, lastSecond: 200, pages: ['/help'] } },
      // The replay waits a gap after the last click, so the last sessions close before the input ends.
      { at: 26_666.666666666668, session: { user: 'ana', firstSecond: 1000, lastSecond: 1000, pages: ['/cart'] } },
      { at: 28_333.333333333332, session: { user: 'bo', firstSecond: 1100, lastSecond: 1100, pages: ['/pricing'] } },
    ]);
  });

  it('sessionizes the bundled click log like a plain loop over the log does', async () => {
    const clicks = bundledClicks();
    const gapSeconds = 600;
    const clock = new ManualClock(0);
    const env = onManualClock(clock);
    const sessions = sessionsOf(env, clicks, { gapSeconds, speed: 1800 });
    const got = collect(sessions);
    await runJobToCompletion(env.executeAsync('sessionize'), clock);

    // The reference: per user, split the clicks wherever two are `gapSeconds` or more apart.
    const expected: Session[] = [];
    for (const user of new Set(clicks.map((c) => c.user))) {
      let current: Click[] = [];
      const close = () => current.length > 0 && expected.push({ user, firstSecond: current[0]!.second, lastSecond: current.at(-1)!.second, pages: current.map((c) => c.page) });
      for (const c of clicks.filter((x) => x.user === user)) {
        if (current.length > 0 && c.second - current.at(-1)!.second >= gapSeconds) {
          close();
          current = [];
        }
        current.push(c);
      }
      close();
    }
    expect(got.length).toBeGreaterThan(15);
    expect([...got].sort(byStart)).toEqual(expected.sort(byStart));
  });
});

describe('the sessionize job module in two task slots', { timeout: 30_000 }, () => {
  it('closes every user’s sessions as runs of that user’s clicks, the users spread over the slots', async () => {
    const clicks = bundledClicks();
    // The log in about half a second of real time: where a session ends depends on the slots' timing, so this checks what does not.
    const { records, result } = await sessionizeJob.executeAndCollectWithResult({ clicks, gapSeconds: 600, speed: 20_000 }, { jobName: 'sessionize' });
    expect(result.status).toBe('finished');
    expect(result.operators.find((o) => o.name === 'sessions')?.parallelism).toBe(2);
    expect(records.length).toBeGreaterThan(0);
    for (const user of new Set(records.map((s) => s.user))) {
      const own = clicks.filter((c) => c.user === user);
      let next = 0;
      // In order and never overlapping: each session is the user's next clicks, from where the last one ended.
      for (const session of records.filter((s) => s.user === user).sort(byStart)) {
        next = own.findIndex((c, i) => i >= next && c.second === session.firstSecond);
        const run = own.slice(next, next + session.pages.length);
        expect(session).toEqual({ user, firstSecond: run[0]?.second, lastSecond: run.at(-1)?.second, pages: run.map((c) => c.page) });
        next += run.length;
      }
    }
  });
});

describe('the sessionize job module replayed far faster than its threads hand clicks on', { timeout: 30_000 }, () => {
  it('still puts every click in a session: the last sessions close before the input ends', async () => {
    const clicks = bundledClicks();
    // The three-hour log in about a millisecond: every click reaches its slot after its session's gap has passed.
    const { records } = await sessionizeJob.executeAndCollectWithResult({ clicks, gapSeconds: 600, speed: 10_000_000 }, { jobName: 'sessionize' });
    expect(records.reduce((n, s) => n + s.pages.length, 0)).toBe(clicks.length);
    for (const user of new Set(clicks.map((c) => c.user))) {
      const pages = records.filter((s) => s.user === user).sort(byStart).flatMap((s) => s.pages);
      expect(pages).toEqual(clicks.filter((c) => c.user === user).map((c) => c.page));
    }
  });
});

describe('formatting', () => {
  it('prints a session on one line with times of day from 09:00', () => {
    expect(timeOfDay(0)).toBe('09:00:00');
    expect(timeOfDay(3725)).toBe('10:02:05');
    expect(formatSession({ user: 'ana', firstSecond: 60, lastSecond: 360, pages: ['/home', '/cart'] })).toBe('09:01:00-09:06:00  ana     2 clicks   5 min  /home > /cart');
    expect(formatSession({ user: 'bo', firstSecond: 0, lastSecond: 0, pages: ['/a', '/b', '/c', '/d', '/e', '/f', '/g'] })).toContain('/a > /b > /c > /d > /e > … (2 more)');
  });
});
