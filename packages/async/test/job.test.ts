import { describe, expect, it } from 'vitest';
import { JobExecutionError, OutputTag, StreamExecutionEnvironment, type Source } from '@tributary/core';
import { FakeBatchService, ManualClock, collect, drain, runJobToCompletion } from '@tributary/testing';
import { AsyncDataStream, RetryStrategies, type DeadLetter } from '../src/index.js';
import { range } from './helpers.js';

interface Event {
  readonly user: string;
  readonly text: string;
}

describe('in a job', () => {
  it.each(['ordered', 'unordered'] as const)(
    '%s: a failure in the operator after it, on an output a completion emitted, names that operator',
    async (ordering) => {
      const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0) });
      const call = (xs: readonly number[]) => Promise.resolve(xs.map((x) => x));
      const options = { maxBatchSize: 2 };
      const source = env.fromCollection([1, 2, 3, 4, 5]);
      const enriched = ordering === 'ordered' ? AsyncDataStream.orderedWaitBatch(source, call, options) : AsyncDataStream.unorderedWaitBatch(source, call, options);
      enriched
        .name('enrich')
        .map((x) => {
          if (x === 3) throw new Error('bad record 3');
          return x;
        })
        .name('validate')
        .addSink(() => undefined);
      await expect(env.execute('j')).rejects.toThrow("Job 'j' failed in operator 'validate': bad record 3");
    },
  );

  it('composes with keyBy, map, union and side outputs, keeping order per key', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, parallelism: 2, runtime: 'single-thread' });
    const service = new FakeBatchService<Event, number>({
      clock,
      handler: (events) => events.map((e) => e.text.length),
      latency: { baseMs: 10, perItemMs: 1 },
      failRecords: (e) => e.text === 'poison',
    });
    const users = ['ann', 'bob', 'dan']; // dan's records run on subtask 0, the others' on subtask 1
    const events: Event[] = range(0, 29).map((i) => ({ user: users[i % 3] as string, text: i === 13 ? 'poison' : 'x'.repeat(i) }));
    const dead = new OutputTag<DeadLetter<Event>>('dead');
    const sized = AsyncDataStream.waitBatch(
      env.fromCollection(events).keyBy((e) => e.user),
      async (batch: readonly Event[], { signal }) => (await service.call(batch, { signal })).map((n, i) => ({ user: (batch[i] as Event).user, n })),
      {
        maxBatchSize: 4,
        maxBatchDelay: 5,
        maxInFlightBatches: 2,
        ordering: 'key-ordered',
        resultMode: 'per-item',
        splitOnFailure: true,
        onFailure: { deadLetter: dead },
      },
    )
      .name('size')
      .uid('size-v1');
    const lines = collect(sized.map((r) => `${r.user}:${r.n}`).union(env.fromElements('extra')));
    const letters = collect(sized.getSideOutput(dead));

    const result = await runJobToCompletion(env.executeAsync('compose'), clock);

    expect(result.status).toBe('finished');
    const expected = events.filter((e) => e.text !== 'poison').map((e) => `${e.user}:${e.text.length}`);
    expect([...lines].sort()).toEqual([...expected, 'extra'].sort());
    for (const user of users) {
      expect(lines.filter((l) => l.startsWith(`${user}:`))).toEqual(expected.filter((l) => l.startsWith(`${user}:`)));
    }
    expect(letters.map((l) => l.input.text)).toEqual(['poison']);
    const batches = [0, 1].map((s) => result.metrics[`job.compose.operator.size-v1.${s}.batches`] as number);
    expect(batches[0]! + batches[1]!).toBe(service.calls.length);
    expect(batches.every((n) => n > 0)).toBe(true);
    expect(result.operators.find((o) => o.uid === 'size-v1')).toMatchObject({ parallelism: 2, recordsIn: 30, recordsOut: 29 });
  });

  it.each(['unorderedWaitBatch', 'orderedWaitBatch'] as const)(
    '%s into a sink whose writes return promises: one write at a time, all done before the job finishes, none after close()',
    async (mode) => {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
      const input = range(0, 1_999);
      const results = AsyncDataStream[mode](env.fromCollection(input), (xs: readonly number[]) => Promise.resolve([...xs]), { maxBatchSize: 256, maxInFlightBatches: 3 });
      const written: number[] = [];
      const writes = { running: 0, most: 0, afterClose: 0 };
      let closed = false;
      results.sinkTo({
        createWriter: () => ({
          // A database sink: each write settles on a later turn of the event loop.
          write: async (n: number) => {
            writes.most = Math.max(writes.most, ++writes.running);
            await new Promise((resolve) => setImmediate(resolve));
            if (closed) writes.afterClose++;
            written.push(n);
            writes.running--;
          },
          close: () => void (closed = true),
        }),
      });
      // The async operator's completions emit while earlier writes are pending: before, they started writes
      // of their own (up to 1,536 at once) and the job finished with 136 still to come, written after close().
      await env.execute(`${mode} into a slow sink`);
      expect(written.length).toBe(input.length);
      expect(writes).toEqual({ running: 0, most: 1, afterClose: 0 });
      if (mode === 'orderedWaitBatch') expect(written).toEqual(input);
      else expect([...written].sort((a, b) => a - b)).toEqual(input);
    },
  );

  it("the 'fail' policy fails the job naming the operator, the batch and the cause", async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 10, perItemMs: 0 }, failCalls: [2] });
    collect(
      AsyncDataStream.unorderedWaitBatch(env.fromCollection(range(1, 10)), (xs, { signal }) => service.call(xs, { signal }), {
        maxBatchSize: 3,
        retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 5, retryOnError: (e) => !(e instanceof Error && e.message.includes('#2')) }),
      }).uid('embed'),
    );
    const run = runJobToCompletion(env.executeAsync('fails'), clock);
    await expect(run).rejects.toThrow(JobExecutionError);
    await expect(run).rejects.toThrow(
      "Job 'fails' failed in operator 'UnorderedWaitBatch' (uid 'embed'): a batch of 3 records failed after 1 attempt: FakeBatchService call #2 failed (failCalls)",
    );
  });

  it('a retry found past its deadline in the middle of a chunk fails the job out of that chunk, naming the operator', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    // [1, 2] at once, then [3, 4, 5] at 150: after the retry of [1, 2] (due at 10, held by the rate limit) passed its deadline at 100.
    const chunks: (readonly number[])[] = [[1, 2], [3, 4, 5]];
    const source: Source<number, number> = {
      createReader: () => ({
        read: () => {
          const chunk = chunks.shift() ?? null;
          if (chunk === null || chunk[0] === 1) return chunk;
          return new Promise((resolve) => clock.schedule(150, () => resolve(chunk)));
        },
        position: () => 0,
      }),
    };
    const calls: number[][] = [];
    const out = collect(
      AsyncDataStream.unorderedWaitBatch(
        env.fromSource(source, 'late'),
        (xs) => {
          calls.push([...xs]);
          return Promise.reject(new Error('model down'));
        },
        { maxBatchSize: 2, maxBatchDelay: 50, deadline: 100, rateLimit: { requestsPerSecond: 1 }, retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 10 }) },
      ).uid('embed'),
    );
    await expect(runJobToCompletion(env.executeAsync('late retry'), clock)).rejects.toThrow(
      "Job 'late retry' failed in operator 'UnorderedWaitBatch' (uid 'embed'): a batch of 2 records failed after 1 attempt: deadline of 100 ms for all attempts exceeded",
    );
    expect(clock.now()).toBe(150);
    expect(calls).toEqual([[1, 2]]);
    expect(out).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a timeout() hook that never completes fails the job naming the operator and the hook, instead of hanging it', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    collect(
      AsyncDataStream.orderedWait(
        env.fromCollection(range(1, 5)),
        {
          asyncInvoke() {},
          timeout() {},
        },
        { timeout: 1_000 },
      ).uid('lookup'),
    );
    await expect(runJobToCompletion(env.executeAsync('hook'), clock)).rejects.toThrow(
      "Job 'hook' failed in operator 'OrderedWait' (uid 'lookup'): a batch of 1 record failed after 1 attempt: the timeout() hook did not complete within 1000 ms",
    );
    expect(clock.now()).toBe(2_000);
  });

  it('cancel during in-flight batches aborts them and the job ends', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], hangCalls: [1, 2, 3] });
    const out = collect(
      AsyncDataStream.unorderedWaitBatch(env.fromCollection(range(1, 100)), (xs, { signal }) => service.call(xs, { signal }), {
        maxBatchSize: 10,
        maxInFlightBatches: 3,
        retry: RetryStrategies.fixedDelay({ maxAttempts: 5, delayMs: 1_000 }),
      }),
    );
    const job = env.executeAsync('cancel');
    for (let i = 0; i < 100 && service.inFlight < 3; i++) await drain();
    expect(service.inFlight).toBe(3);
    job.cancel();
    const result = await job.result;
    expect(result.status).toBe('cancelled');
    expect(service.calls.map((c) => c.outcome)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(out).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('holds back an unbounded source: chained to it, the source reads no more than capacity allows', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, chunkSize: 16, channelCapacity: 2 });
    const service = new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency: { baseMs: 10, perItemMs: 0 } });
    let read = 0;
    let emitted = 0;
    let aheadPeak = 0;
    function* numbers(): Generator<number> {
      for (let i = 0; ; i++) {
        read++;
        aheadPeak = Math.max(aheadPeak, read - emitted);
        yield i;
      }
    }
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(numbers()), (xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 16,
      maxInFlightBatches: 2,
      capacity: 64,
    }).addSink(() => {
      emitted++;
    });
    const running = env.executeAsync('unbounded');
    while (emitted < 3_000) {
      await drain();
      await clock.setTime(clock.nextTimerAt() ?? clock.now());
    }
    running.cancel();
    await running.result;
    // Chained right after the source, the operator is fed by reads cut to its free capacity:
    // nothing is read ahead of what it holds.
    expect(aheadPeak).toBe(64);
    expect(emitted).toBeGreaterThanOrEqual(3_000);
  });
});
