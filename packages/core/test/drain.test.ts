import { EventEmitter, on } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink, ManualClock, RestartStrategies, StreamExecutionEnvironment } from '../src/index.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';
import { CountAtEnd } from './support/countAtEnd.js';
import { committedRecords } from './support/committedRecords.js';


describe('JobClient.drain(): a graceful stop of an endless job', () => {
  it('finishes what the source read (the read in progress too), commits it, and a restore goes on from there', async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'drain-ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'drain-out-'));
    const seen: number[] = [];

    /** One run of the endless job: lets `first` records through, drains, then lets the read in progress return up to `last`. */
    const run = async (first: number, last: number, restoreFrom?: 'latest') => {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
      const gate = gatedSource(Number.POSITIVE_INFINITY);
      const read = env
        .fromSource(gate.source, 'endless')
        .uid('endless')
        .map((n: number) => (seen.push(n), n))
        .uid('seen');
      read.sinkTo(FileSink.jsonLines<number>(join(out, 'records'))).uid('records');
      // An end-of-input result: a drain ends the input as a bounded source's end does.
      read.transform('Count', (ctx) => new CountAtEnd(ctx)).uid('count').sinkTo(FileSink.jsonLines<unknown>(join(out, 'counts'))).uid('counts');
      const job = env.executeAsync('endless', restoreFrom === undefined ? {} : { restoreFrom });
      const before = seen.length;
      gate.openUntil(first);
      await until(() => seen.length === before + first - (restoreFrom === undefined ? 0 : seen[before - 1]! + 1), 'the first records');
      // The source's next read waits at the gate: the drain comes while a read is in progress.
      await until(() => job.tasks().some((t) => t.task.startsWith('endless') && t.waitingOn === 'input'), 'a read waiting');
      job.drain();
      expect(job.status).toBe('running');
      // The source's read waits at the gate: a drain lets it return, and what it returns goes through.
      gate.openUntil(last);
      await driveUntilDone(job.result, clock);
      return job.result;
    };

    const first = await run(50, 80);
    expect(first.status).toBe('finished');
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
    expect(seen.length).toBeGreaterThan(50);
    expect(committedRecords(join(out, 'records'))).toEqual(seen);
    expect(committedRecords(join(out, 'counts')).filter((n) => n < 0)).toEqual([-seen.length]);

    const upTo = seen.length;
    const second = await run(upTo + 20, upTo + 40, 'latest');
    expect(second.status).toBe('finished');
    // Exactly once across the two runs: the restore starts where the drained run's final checkpoint left the source.
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
    expect(committedRecords(join(out, 'records'))).toEqual(seen);
    // Restored finished (the final checkpoint holds no operator state), Count runs again once records come: its end of
    // input counts the second run's records. Skipped, an async operator there dropped its calls in flight.
    expect(committedRecords(join(out, 'counts')).filter((n) => n < 0).sort((a, b) => b - a)).toEqual([-(seen.length - upTo), -upTo].sort((a, b) => b - a));
  });

  it('drains the attempt after a restart too', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    const gate = gatedSource(Number.POSITIVE_INFINITY);
    const seen: number[] = [];
    let failed = false;
    env
      .fromSource(gate.source, 'endless')
      .map((n: number) => {
        // Fails once, after the drain: the next attempt must be told to drain as well, or it reads for ever.
        if (n === 60 && !failed) {
          failed = true;
          throw new Error('once');
        }
        seen.push(n);
        return n;
      })
      .addSink(() => undefined);
    const job = env.executeAsync('restarted');
    gate.openUntil(50);
    await until(() => seen.length === 50 && job.tasks().some((t) => t.waitingOn === 'input'), 'a read waiting');
    job.drain();
    gate.openUntil(80);
    await driveUntilDone(job.result, clock);
    const result = await job.result;
    expect([result.status, result.restarts]).toEqual(['finished', 1]);
  });

  it('does nothing once the job has ended, and cancel() still stops a draining job at once', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0) });
    const gate = gatedSource(Number.POSITIVE_INFINITY);
    env.fromSource(gate.source, 'endless').addSink(() => undefined);
    const job = env.executeAsync('stuck');
    // The read waits at a gate that never opens: the drain waits for it, a cancel does not.
    job.drain();
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
    job.drain();
    expect(job.status).toBe('cancelled');
  });

  describe('a source whose read waits for data that does not come', () => {
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

    it('fromAsyncIterable(fn): the drain ends the waiting read, and each restore reads on from the position', async () => {
      const clock = new ManualClock(0);
      const storage = mkdtempSync(join(tmpdir(), 'drain-idle-ckpt-'));
      const records = join(mkdtempSync(join(tmpdir(), 'drain-idle-out-')), 'records');
      const seen: number[] = [];
      let available = 0;
      // 0, 1, 2 ... up to `available`, then nothing for ever: a queue with nothing in it.
      async function* numbers() {
        for (let i = 0; ; i++) {
          if (i >= available) await new Promise<never>(() => undefined);
          yield i;
        }
      }
      /** One run: waits until the source waits (`waitingOn` starts with `waiting`), drains, and returns the result. */
      const run = async (waiting: 'input' | 'start()', restoreFrom?: 'latest') => {
        const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
        env
          .fromAsyncIterable(() => numbers())
          .uid('numbers')
          .map((n: number) => (seen.push(n), n))
          .uid('seen')
          .sinkTo(FileSink.jsonLines<number>(records))
          .uid('records');
        const job = env.executeAsync('idle', restoreFrom === undefined ? {} : { restoreFrom });
        await until(() => job.tasks().some((t) => t.waitingOn?.startsWith(waiting) === true) && seen.length === Math.max(0, available - seenBefore), `the source waiting in ${waiting}`);
        job.drain();
        await driveUntilDone(job.result, clock);
        return (await job.result).status;
      };
      let seenBefore = 0;

      available = 30;
      expect(await run('input')).toBe('finished');
      expect(committedRecords(records)).toEqual(upTo(30));

      // The restored reader skips the 30 records its position covers, and the data stops after 10: the drain comes
      // while it skips. Nothing was read, so the final checkpoint keeps the position at 30, not 10.
      seen.length = 0;
      seenBefore = 30;
      available = 10;
      expect(await run('start()', 'latest')).toBe('finished');
      expect(seen).toEqual([]);

      seen.length = 0;
      available = 50;
      expect(await run('input', 'latest')).toBe('finished');
      expect(seen).toEqual(upTo(50).slice(30));
      expect(committedRecords(records)).toEqual(upTo(50));
    });

    it('fromAsyncIterable(iterable): the drain asks a one-shot iterable to end, and what it yielded goes through', async () => {
      const clock = new ManualClock(0);
      const emitter = new EventEmitter();
      const out: number[] = [];
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
      // `events.on` ends its pending next() on return(): read only once, so waiting for it is how nothing is lost.
      env
        .fromAsyncIterable(on(emitter, 'n'))
        .map(([n]: unknown[]) => n as number)
        .addSink((n) => void out.push(n));
      const job = env.executeAsync('events');
      for (let i = 0; i < 20; i++) emitter.emit('n', i);
      await until(() => out.length === 20 && job.tasks().some((t) => t.waitingOn === 'input'), 'the source waiting');
      job.drain();
      await driveUntilDone(job.result, clock);
      expect((await job.result).status).toBe('finished');
      expect(out).toEqual(upTo(20));
    });
  });
});
