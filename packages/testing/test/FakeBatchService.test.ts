import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidJobError } from '@tributary/core';
import { AbortError, FakeBatchService, FakeServiceError, ManualClock, SystemClock, FakeThrottledError } from '../src/index.js';

const lengths = (xs: readonly string[]) => xs.map((x) => x.length);

/** Settles a promise's outcome into a value, so a test can look at it after moving the clock. */
function outcomeOf<T>(promise: Promise<T>): { value?: T; error?: unknown; settled: boolean } {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('FakeBatchService', () => {
  it('serves a call in exactly base + perItem * n ms', async () => {
    const clock = new ManualClock(1_000);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 0.5 } });
    const answer = outcomeOf(service.call(['a', 'bb', 'ccc', 'dddd']));

    await clock.setTime(1_011.999);
    expect(answer.settled).toBe(false);
    await clock.setTime(1_012);
    expect(answer).toEqual({ value: [1, 2, 3, 4], settled: true });
    expect(service.calls).toEqual([
      { id: 1, mode: 'batch', inputs: ['a', 'bb', 'ccc', 'dddd'], queuedAt: 1_000, startedAt: 1_000, finishedAt: 1_012, outcome: 'ok' },
    ]);
  });

  it('keeps its own copy of the inputs', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths });
    const inputs = ['a'];
    const answer = service.call(inputs);
    inputs.push('b');
    await clock.advance(0);
    await expect(answer).resolves.toEqual([1]);
    expect(service.calls[0]?.inputs).toEqual(['a']);
  });

  it('serves at most `concurrency` calls at once and queues the rest in FIFO order', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 1 }, concurrency: 2 });
    const answers = [['a'], ['b', 'b'], ['c'], ['d', 'd', 'd'], ['e']].map((batch) => service.call(batch));
    expect(service.inFlight).toBe(2);
    expect(service.queued).toBe(3);

    await clock.advance(100);
    await Promise.all(answers);
    expect(service.calls.map((c) => [c.id, c.queuedAt, c.startedAt, c.finishedAt])).toEqual([
      [1, 0, 0, 11],
      [2, 0, 0, 12],
      [3, 0, 11, 22], // took the slot call 1 freed; the queue time is not service time
      [4, 0, 12, 25],
      [5, 0, 22, 33],
    ]);
    expect(service.maxConcurrency).toBe(2);
    expect(service.batchSizes()).toEqual([1, 2, 1, 3, 1]);
  });

  it('sums the time calls were served (not queued) in busyMs, also without a call log', async () => {
    for (const keepCallLog of [true, false]) {
      const clock = new ManualClock(0);
      const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 1 }, concurrency: 1, keepCallLog });
      const answers = [['a'], ['b', 'b']].map((batch) => service.call(batch));
      await clock.advance(100);
      await Promise.all(answers);
      expect(service.busyMs).toBe(11 + 12);
      expect(service.calls).toHaveLength(keepCallLog ? 2 : 0);
    }
  });

  it('follows a FIFO multi-server queue for any load (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 20 }), size: fc.integer({ min: 0, max: 8 }) }), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        async (arrivals, concurrency) => {
          const clock = new ManualClock(0);
          const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 5, perItemMs: 2 }, concurrency });
          const answers: Promise<number[]>[] = [];
          for (const { gap, size } of arrivals) {
            await clock.advance(gap);
            answers.push(service.call(Array.from({ length: size }, (_, i) => i)));
          }
          await clock.advance(1_000);
          await Promise.all(answers);

          // Reference model: each call, in arrival order, takes the server that frees up first.
          const freeAt = Array.from({ length: concurrency }, () => 0);
          let time = 0;
          const expected = arrivals.map(({ gap, size }) => {
            time += gap;
            const server = freeAt.indexOf(Math.min(...freeAt));
            const startedAt = Math.max(time, freeAt[server]!);
            freeAt[server] = startedAt + 5 + 2 * size;
            return [time, startedAt, freeAt[server]];
          });
          expect(service.calls.map((c) => [c.queuedAt, c.startedAt, c.finishedAt])).toEqual(expected);

          const overlapAt = (t: number) => service.calls.filter((c) => c.startedAt! <= t && t < c.finishedAt!).length;
          const peak = Math.max(...service.calls.map((c) => overlapAt(c.startedAt!)));
          expect(service.maxConcurrency).toBe(peak);
          expect(peak).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reaches its concurrency limit under load', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 0 }, concurrency: 4 });
    const answers = Array.from({ length: 20 }, (_, i) => service.call([String(i)]));
    await clock.advance(50);
    await Promise.all(answers);
    expect(service.maxConcurrency).toBe(4);
    expect(clock.now()).toBe(50);
  });

  it('fails the scripted call numbers, naming the call', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 5, perItemMs: 0 }, failCalls: [2] });
    const answers = [service.call(['a']), service.call(['b']), service.call(['c'])].map(outcomeOf);
    await clock.advance(5);
    expect(answers.map((a) => a.value)).toEqual([[1], undefined, [1]]);
    expect(answers[1]?.error).toBeInstanceOf(FakeServiceError);
    expect(answers[1]?.error).toMatchObject({ callId: 2, reason: 'failCalls', message: 'FakeBatchService call #2 failed (failCalls)' });
    expect(service.calls.map((c) => c.outcome)).toEqual(['ok', 'error', 'ok']);
    // A failure takes the call's full service time, like a real server's.
    expect(service.calls[1]?.finishedAt).toBe(5);
  });

  it('fails every call that carries a poison record, naming the record', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, failRecords: (x: string) => x === 'poison' });
    const bad = expect(service.call(['ok', 'poison', 'fine'])).rejects.toThrow(
      'FakeBatchService call #1 failed: poison record at index 1 ("poison") (failRecords)',
    );
    const good = expect(service.call(['ok', 'fine'])).resolves.toEqual([2, 4]);
    await clock.advance(0);
    await bad;
    await good;
  });

  it('turns a handler exception into a failed call', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, number>({
      clock,
      handler: () => {
        throw new TypeError('model crashed');
      },
    });
    const answer = expect(service.call(['x'])).rejects.toThrow(TypeError);
    await clock.advance(0);
    await answer;
    expect(service.calls[0]?.outcome).toBe('error');
  });

  describe('failureRate', () => {
    async function failedCallNumbers(seed: number): Promise<number[]> {
      const clock = new ManualClock(0);
      const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 1, perItemMs: 0 }, failureRate: 0.3, seed, concurrency: 3 });
      const answers = Array.from({ length: 200 }, (_, i) => service.call([String(i)]).catch(() => 'failed'));
      await clock.advance(100);
      const outcomes = await Promise.all(answers);
      expect(service.calls.filter((c) => c.outcome === 'error').length).toBe(outcomes.filter((o) => o === 'failed').length);
      return service.calls.filter((c) => c.outcome === 'error').map((c) => c.id);
    }

    it('replays the same failures for the same seed and others for another seed', async () => {
      const first = await failedCallNumbers(42);
      const again = await failedCallNumbers(42);
      const other = await failedCallNumbers(7);
      expect(again).toEqual(first);
      expect(other).not.toEqual(first);
      // Roughly the rate asked for: 30% of 200 calls.
      expect(first.length).toBeGreaterThan(35);
      expect(first.length).toBeLessThan(85);
    });

    it('fails the same call numbers whatever the timing of the calls', async () => {
      const clock = new ManualClock(0);
      const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 3, perItemMs: 7 }, failureRate: 0.3, seed: 42 });
      const answers = Array.from({ length: 200 }, (_, i) => service.call(['x'.repeat(i % 5)]).catch(() => 'failed'));
      await clock.advance(100);
      await Promise.all(answers);
      expect(service.calls.filter((c) => c.outcome === 'error').map((c) => c.id)).toEqual(await failedCallNumbers(42));
    });
  });

  it('never answers a hanging call, and rejects it with an AbortError once the caller aborts', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 0 }, concurrency: 1, hangCalls: [1] });
    const controller = new AbortController();
    const hanging = outcomeOf(service.call(['a'], { signal: controller.signal }));
    const next = outcomeOf(service.call(['b']));
    await clock.advance(10_000);
    expect(hanging.settled).toBe(false);
    expect(next.settled).toBe(false); // the hanging call holds the only slot

    controller.abort(new Error('timeout'));
    expect(service.calls[0]).toMatchObject({ outcome: 'aborted', finishedAt: 10_000 });
    await clock.advance(0);
    expect(hanging.error).toBeInstanceOf(AbortError);
    expect(hanging.error).toMatchObject({ name: 'AbortError', cause: new Error('timeout') });
    expect(String((hanging.error as Error).message)).toMatch(/call #1 aborted by the caller while being served/);

    // The slot is free again: call 2 starts at once.
    expect(service.calls[1]?.startedAt).toBe(10_000);
    await clock.advance(10);
    expect(next.value).toEqual([1]);
  });

  it('aborts a queued call without serving it, and a call whose signal already aborted', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 0 }, concurrency: 1 });
    const first = service.call(['a']);
    const controller = new AbortController();
    const queued = service.call(['b'], { signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError', message: expect.stringMatching(/while queued/) });
    await expect(service.call(['c'], { signal: AbortSignal.abort() })).rejects.toThrow(/aborted before it was sent/);
    await clock.advance(10);
    await expect(first).resolves.toEqual([1]);
    expect(service.calls.map((c) => [c.outcome, c.startedAt])).toEqual([
      ['ok', 0],
      ['aborted', undefined],
      ['aborted', undefined],
    ]);
  });

  it('refuses call options it cannot use, naming the method, before the call is logged or counted', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 10, perItemMs: 0 } });
    // A misspelled signal was ignored, so the call could not be aborted; a signal that is not an AbortSignal left it pending for ever.
    const calls: [() => unknown, string][] = [
      [() => service.call(['a'], { sigal: new AbortController().signal } as never), "FakeBatchService.call(): unknown option 'sigal'; did you mean 'signal'? (known: signal)"],
      [() => service.call(['a'], { signal: 'x' } as never), "FakeBatchService.call(): option 'signal' must be an AbortSignal, got 'x'"],
      [() => service.callPerItem(['a'], null as never), 'FakeBatchService.callPerItem(): needs an options object, got null'],
    ];
    for (const [call, message] of calls) {
      // Thrown at the call, so a pending promise (the typo) or a rejection fails this.
      let thrown: unknown;
      try {
        void (call() as Promise<unknown>).catch(() => undefined);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidJobError);
      expect((thrown as Error).message).toBe(message);
    }
    expect(service.calls).toEqual([]);
    const next = outcomeOf(service.call(['bb'], { signal: new AbortController().signal }));
    // The async operator's call context goes through as it is: it carries a signal, and more.
    const context = outcomeOf(service.call(['ccc'], { signal: new AbortController().signal, attempt: 1, deadlineAt: 100 } as never));
    await clock.advance(10);
    expect(next.value).toEqual([2]);
    expect(context.value).toEqual([3]);
    expect(service.calls.map((c) => [c.id, c.outcome])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
    ]);
  });

  it('stops listening to a signal once the call is answered', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths });
    const controller = new AbortController();
    const answer = service.call(['a'], { signal: controller.signal });
    await clock.advance(0);
    controller.abort();
    await expect(answer).resolves.toEqual([1]);
    expect(service.calls[0]?.outcome).toBe('ok');
  });

  it('throttles the scripted calls with an error that carries retryAfterMs', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, throttleCalls: [1], retryAfterMs: 250 });
    const throttled = service.call(['a']).catch((e: unknown) => e);
    const next = service.call(['b']);
    await clock.advance(0);
    const error = await throttled;
    expect(error).toBeInstanceOf(FakeThrottledError);
    expect(error).toMatchObject({ name: 'FakeThrottledError', retryAfterMs: 250, callId: 1 });
    expect(typeof (error as { retryAfterMs: unknown }).retryAfterMs).toBe('number');
    await expect(next).resolves.toEqual([1]);
    expect(service.calls.map((c) => c.outcome)).toEqual(['throttled', 'ok']);
  });

  it('fails single items in per-item calls, and only there', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, failItems: (x: string) => x.startsWith('bad') });
    const perItem = service.callPerItem(['a', 'bad1', 'ccc', 'bad2']);
    const batch = service.call(['a', 'bad1']);
    await clock.advance(0);
    const results = await perItem;
    expect(results[0]).toBe(1);
    expect(results[2]).toBe(3);
    expect(results[1]).toBeInstanceOf(FakeServiceError);
    expect(results[1]).toMatchObject({ message: 'FakeBatchService call #1: item 1 ("bad1") failed (failItems)', reason: 'item' });
    expect(results[3]).toBeInstanceOf(Error);
    expect(service.calls[0]).toMatchObject({ mode: 'per-item', outcome: 'ok', failedItems: 2 });
    await expect(batch).resolves.toEqual([1, 4]);
  });

  it('applies call-level scripts to per-item calls too', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, failCalls: [1] });
    const answer = expect(service.callPerItem(['a'])).rejects.toThrow(/call #1 failed/);
    await clock.advance(0);
    await answer;
  });

  it('rejects a per-item call whose handler breaks the one-output-per-input rule', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, number>({ clock, handler: () => [1] });
    const answer = expect(service.callPerItem(['a', 'b'])).rejects.toThrow(/returned 1 outputs for 2 inputs/);
    await clock.advance(0);
    await answer;
  });

  it('describes its call log for assertion messages', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: lengths, latency: { baseMs: 2, perItemMs: 0 }, failCalls: [2] });
    const answers = [service.call(['a']), service.call(['b', 'c'])].map((p) => p.catch(() => undefined));
    await clock.advance(2);
    await Promise.all(answers);
    expect(service.describeCalls()).toBe(
      '#1 batch n=1 queued 0, served 0..2: ok\n#2 batch n=2 queued 0, served 0..2: error (FakeBatchService call #2 failed (failCalls))',
    );
  });

  it('validates its options, naming them', () => {
    const clock = new ManualClock(0);
    expect(() => new FakeBatchService({ clock, handler: lengths, concurrency: 0 })).toThrow(/option 'concurrency'/);
    // null is a wrong value, not "unlimited" (the default when left out).
    expect(() => new FakeBatchService({ clock, handler: lengths, concurrency: null as never })).toThrow(/option 'concurrency'/);
    expect(() => new FakeBatchService({ clock, handler: lengths, latency: { baseMs: -1, perItemMs: 0 } })).toThrow(/latency.baseMs/);
    expect(() => new FakeBatchService({ clock, handler: lengths, failureRate: 2 })).toThrow(/failureRate/);
    expect(() => new FakeBatchService({ clock, handler: lengths, failCalls: [0] })).toThrow(/failCalls' holds 1-based/);
  });

  it('runs on the system clock for benchmarks', async () => {
    const service = new FakeBatchService({ clock: new SystemClock(), handler: lengths, latency: { baseMs: 0, perItemMs: 0 }, concurrency: 1 });
    await expect(Promise.all([service.call(['a']), service.call(['bb'])])).resolves.toEqual([[1], [2]]);
    expect(service.maxConcurrency).toBe(1);
  });
});
