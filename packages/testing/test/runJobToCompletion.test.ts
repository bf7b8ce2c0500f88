import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileSink,
  InvalidJobError,
  JobExecutionError,
  OutputTag,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Clock,
  type KeyedProcessFunction,
  type Source,
  type ValueState,
} from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { collect, ManualClock, runJobToCompletion } from '../src/index.js';
import { collectInSlots } from './fixtures/collectInSlots.job.js';

interface Click {
  readonly user: string;
}

const tooMany = new OutputTag<string>('too-many');

/** Waits on the job's clock, as a slow source would between records. */
function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(clock.now() + ms, resolve));
}

/** Yields `[delayMs, record]` pairs: each record after its delay on the clock. */
async function* timed<T>(clock: Clock, items: readonly (readonly [number, T])[]): AsyncGenerator<T> {
  for (const [delay, item] of items) {
    if (delay > 0) await sleep(clock, delay);
    yield item;
  }
}

/** Reports each user's clicks 100 ms after their first click in a session; more than 2 also go to a side output. */
function sessionCount(): KeyedProcessFunction<string, Click, string> & { count?: ValueState<number> } {
  return {
    open(ctx) {
      this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
    },
    processElement(_click, ctx) {
      const n = this.count!.value()! + 1;
      this.count!.update(n);
      if (n === 1) ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 100);
    },
    onTimer(timestamp, ctx, out) {
      const n = this.count!.value()!;
      out.collect(`${ctx.currentKey}:${n}@${timestamp}`);
      if (n > 2) ctx.output(tooMany, ctx.currentKey);
      this.count!.clear();
    },
  };
}

describe('runJobToCompletion', () => {
  it('runs a keyed job with timers to its end under a manual clock, collecting main and side outputs', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 });
    const clicks: [number, Click][] = [
      [0, { user: 'ann' }],
      [10, { user: 'bob' }],
      [20, { user: 'ann' }],
      [20, { user: 'ann' }],
      [200, { user: 'bob' }], // t=250, after the first sessions closed
      [200, { user: 'ann' }], // t=450; the source ends at 450 + 200
      [200, { user: 'ann' }],
    ];
    const sessions = env.fromAsyncIterable(timed(clock, clicks)).keyBy((c) => c.user).process(sessionCount());
    const out = collect(sessions);
    const flagged = collect(sessions.getSideOutput(tooMany));

    const result = await runJobToCompletion(env.executeAsync('sessions'), clock);

    expect(result.status).toBe('finished');
    expect([...out].sort()).toEqual(['ann:1@550', 'ann:3@100', 'bob:1@110', 'bob:1@350']);
    expect(flagged).toEqual(['ann']);
    expect(clock.now()).toBe(650);
    expect(result.runtimeMs).toBe(650);
  });

  it('lets every record through before it moves the clock', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 });
    const n = 20_000;
    async function* burstThenWait() {
      for (let i = 0; i < n; i++) {
        // A source reading in chunks (a file, a socket) hands over control between them without using the clock.
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield { user: `u${i % 500}` };
      }
      await sleep(clock, 1_000);
    }
    const out = collect(env.fromAsyncIterable(burstThenWait()).keyBy((c) => c.user).process(sessionCount()));

    await runJobToCompletion(env.executeAsync('burst'), clock);

    // Every click arrived at t=0, so every session closed at t=100 with 40 clicks.
    expect(out).toHaveLength(500);
    expect(out.every((line) => line.endsWith(':40@100'))).toBe(true);
  });

  it('rejects with the job error when the job fails', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    collect(
      env
        .fromElements(1, 2, 3)
        .map((x) => {
          if (x === 2) throw new Error('two');
          return x;
        })
        .name('Fragile'),
    );
    const run = runJobToCompletion(env.executeAsync('fragile'), clock);
    await expect(run).rejects.toThrow(JobExecutionError);
    await expect(run).rejects.toThrow(/Job 'fragile' failed in operator 'Fragile': two/);
  });

  it('reports a stuck job instead of hanging, and cancels it', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    // Reads one record, then waits for a promise that never settles.
    const stalls: Source<number> = {
      createReader: () => {
        let sent = false;
        return {
          read: () => (sent ? new Promise<never>(() => {}) : ((sent = true), [1])),
          position: () => (sent ? 1 : 0),
        };
      },
    };
    const out = collect(env.fromSource(stalls, 'Stalling source'));
    const job = env.executeAsync('stalled');

    const error = await runJobToCompletion(job, clock).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/^Job 'stalled' is stuck: it has not finished and no timer is pending on its clock \(time 0\); /);
    // What it saw: how long it waited with no I/O in flight, the open handles, and where the records stopped.
    expect(error?.message).toMatch(/stayed so for 50 more drain\(\) rounds \(\d+ ms in all\) with no I\/O request .* in flight; open handles: /);
    expect(error?.message).toMatch(/Operators \(records in -> out\): 'Stalling source' 0 -> 1, 'Sink: Test collect' 1 -> 0\.$/);
    expect(out).toEqual([1]);
    await expect(job.result).resolves.toMatchObject({ status: 'cancelled' });
  });

  it('gives up after maxSteps on a job that never ends', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    async function* ticks() {
      for (let i = 0; ; i++) {
        await sleep(clock, 10);
        yield i;
      }
    }
    const out = collect(env.fromAsyncIterable(ticks()));
    const job = env.executeAsync('forever');
    await expect(runJobToCompletion(job, clock, { maxSteps: 5 })).rejects.toThrow(/Job 'forever' has not finished after 5 clock steps/);
    expect(out).toEqual([0, 1, 2, 3, 4]);
  });

  it('accepts the result promise of env.execute() too', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    const out = collect(env.fromAsyncIterable(timed(clock, [[5, 'a'], [5, 'b']])));
    const result = await runJobToCompletion(env.execute('plain'), clock);
    expect(out).toEqual(['a', 'b']);
    expect(result.runtimeMs).toBe(10);
  });

  it('waits for real I/O: a FileSink job run 20 times in a row never reports a false stuck', async () => {
    // Before the fix 54 of 60 such runs were reported stuck while the sink's file system calls were in flight.
    const records = 2_000;
    for (let run = 0; run < 20; run++) {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-rjtc-'));
      try {
        const clock = new ManualClock(0);
        const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 });
        env
          .fromCollection(Array.from({ length: records }, (_, i) => i))
          .map((x) => ({ x }))
          .sinkTo(FileSink.jsonLines(dir));
        const result = await runJobToCompletion(env.executeAsync('files'), clock);
        expect(result.status).toBe('finished');
        const lines = readdirSync(dir)
          .filter((file) => !file.startsWith('.'))
          .flatMap((file) => readFileSync(join(dir, file), 'utf8').split('\n').filter((line) => line !== ''));
        expect(lines).toHaveLength(records);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 60_000); // a guard for a loaded machine (about 0.4 s when idle); the test asserts no timing

  it('reports I/O that stays in flight past maxIoWaitMs, naming the requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-rjtc-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    // Opening a FIFO for reading blocks a thread-pool thread until a writer comes: a file system call that never ends.
    const opened = open(fifo, 'r');
    async function* fromFifo() {
      await opened;
      yield 1;
    }
    collect(env.fromAsyncIterable(fromFifo()));
    try {
      await expect(runJobToCompletion(env.executeAsync('fifo'), clock, { maxIoWaitMs: 20 })).rejects.toThrow(
        /Job 'fifo' is stuck: .*; I\/O stayed in flight for more than 20 ms \(1 FSReqPromise; open handles: /,
      );
    } finally {
      closeSync(openSync(fifo, 'w')); // lets the blocked open end
      await opened.then((handle) => handle.close(), () => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('collect() checks its name before it adds the sink, naming collect()', () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const stream = env.fromElements(1);
    const bad = (): unknown => collect(stream, 5 as never);
    expect(bad).toThrow(InvalidJobError);
    expect(bad).toThrow("collect(): option 'name' must be a non-empty string, got 5");
    expect(() => collect(stream, '')).toThrow("collect(): option 'name' must be a non-empty string, got ''");
    expect(() => collect(undefined as never)).toThrow('collect(): needs a DataStream as its first argument, got undefined');
    // The failed calls left no nameless sink in the job.
    expect(env.getJobGraph().operators.map((o) => o.name)).toEqual(['Source: Elements']);
    collect(stream, 'Sink: out');
    expect(env.getJobGraph().operators.map((o) => o.name)).toEqual(['Source: Elements', 'Sink: out']);
  });

  it('collect() refuses to run in a slot, where its array would stay empty, and says what to use', { timeout: 30_000 }, async () => {
    const failure = await collectInSlots.execute({}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failure as Error | undefined)?.message).toMatch(
      /build\(\) threw in slot [01]: collect\(\) cannot bring records out of a slot: .*runtime: 'single-thread'.*executeAndCollect\(\)/,
    );
  });

  // Real work until the limit, on a shared machine: more time than the default 5 s, never a timed assertion.
  it('stops a job that keeps working without waiting on its clock (an endless source) and says so', { timeout: 30_000 }, async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    async function* endless() {
      for (let i = 0; ; i++) yield i;
    }
    let sunk = 0;
    env.fromAsyncIterable(() => endless()).addSink(() => void sunk++);
    await expect(runJobToCompletion(env.executeAsync('endless'), clock, { maxBusyTurns: 100 })).rejects.toThrow(
      /^Job 'endless' has not finished and keeps working without waiting on its clock: it ran 100 event-loop turns .* since the clock last moved \(time 0\)\. A source that never ends.*Operators \(records in -> out\): 'Source: /,
    );
    expect(sunk).toBeGreaterThan(0);
  });
});
