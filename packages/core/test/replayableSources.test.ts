import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource, InvalidJobError, ManualClock, RestartStrategies, StreamExecutionEnvironment, type Source } from '../src/index.js';
import { driveUntilDone, until } from './support/gatedSource.js';

async function* upTo(n: number) {
  for (let i = 0; i < n; i++) yield i;
}

const completedCheckpoints = (env: StreamExecutionEnvironment, job: string) =>
  (env.metrics.snapshot()[`job.${job}.checkpoints.numCompletedCheckpoints`] as number | undefined) ?? 0;

describe('non-replayable sources', () => {
  it('refuses fromAsyncIterable(generator()) as it is added to an environment that restarts, saying which source, why, and how to fix it', () => {
    const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(3, 0) });
    expect(() => env.fromAsyncIterable(upTo(200))).toThrow(InvalidJobError);
    expect(() => env.fromAsyncIterable(upTo(200))).toThrow(
      "source 'Source: AsyncIterable' cannot read its input again, so the restart strategy (fixedDelay) would lose the records it had read. " +
        'Give it a function that creates the input anew (env.fromAsyncIterable(() => generator()), fromCollection(array)), ' +
        'or run without restarts (RestartStrategies.none()) and without restoreFrom.',
    );
  });

  it('refuses a restart strategy set after a one-shot source was added, and keeps the one it had', async () => {
    const env = StreamExecutionEnvironment.create();
    const stream = env.fromAsyncIterable(upTo(3));
    expect(() => env.setRestartStrategy(RestartStrategies.fixedDelay(3, 0))).toThrow(/source 'Source: AsyncIterable' cannot read its input again, so the restart strategy \(fixedDelay\)/);
    expect(await stream.executeAndCollect()).toEqual([0, 1, 2]);
  });

  it('refuses restoreFrom with a source that declares replayable: false', () => {
    const env = StreamExecutionEnvironment.create().enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const socket: Source<number> = { replayable: false, createReader: () => ({ read: () => null, position: () => 0 }) };
    env.fromSource(socket, 'socket').print();
    expect(() => env.executeAsync('restore', { restoreFrom: 'latest' })).toThrow(/source 'socket' cannot read its input again, so restoreFrom 'latest'/);
  });

  it('refuses a generator object in fromCollection, but not an array or a re-iterable', () => {
    function* gen() {
      yield 1;
    }
    const restarting = () => StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 2 }) });
    expect(() => restarting().fromCollection(gen())).toThrow(/source 'Source: Collection' cannot read its input again/);

    for (const input of [[1, 2], new Set([1]), { [Symbol.iterator]: () => gen() }]) {
      const env = restarting();
      env.fromCollection(input).print();
      env.executeAsync('ok').cancel();
    }
    const elements = restarting();
    elements.fromElements(1, 2).print();
    elements.executeAsync('ok').cancel();
  });

  it('declares the built-in replayable sources so', () => {
    expect(new FileSource('x').replayable).toBe(true);
  });

  it('still runs a one-shot iterable when nothing restarts (no strategy, or zero attempts)', async () => {
    for (const restartStrategy of [RestartStrategies.none(), RestartStrategies.fixedDelay(0, 0)]) {
      const env = StreamExecutionEnvironment.create({ restartStrategy });
      expect(await env.fromAsyncIterable(upTo(5)).executeAndCollect()).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('rejects what is neither an async iterable nor a function', () => {
    const env = StreamExecutionEnvironment.create();
    expect(() => env.fromAsyncIterable([1, 2] as never)).toThrow(
      'fromAsyncIterable(): needs an AsyncIterable or a function that returns one, got an array',
    );
  });

  it('rejects an unknown option, a seekable that is not a boolean, and seekable on the iterable itself', () => {
    const env = StreamExecutionEnvironment.create();
    expect(() => env.fromAsyncIterable(() => upTo(3), { seekabel: true } as never)).toThrow("fromAsyncIterable(): unknown option 'seekabel'; did you mean 'seekable'?");
    expect(() => env.fromAsyncIterable(() => upTo(3), { seekable: 'yes' } as never)).toThrow("fromAsyncIterable(): option 'seekable' must be true or false, got 'yes'");
    expect(() => env.fromAsyncIterable(upTo(3), { seekable: true })).toThrow(
      "fromAsyncIterable(): option 'seekable' needs a function that returns the iterable from a record number, got the iterable itself",
    );
  });
});

describe('fromAsyncIterable(fn) replays after a failure', () => {
  it.each([
    { source: '() => numbers(0)', seekable: false, froms: [0, 0], secondRunReads: 200 },
    // Not seekable, so the function is given 0: were it given the count, the records it skips would be lost.
    { source: '(from) => numbers(from)', seekable: false, froms: [0, 0], secondRunReads: 200 },
    { source: '(from) => numbers(from)', seekable: true, froms: [0, 100], secondRunReads: 100 },
  ])(
    'a failure at record 150 of 200 after a checkpoint at 100 ($source, seekable: $seekable): every record arrives, none before the checkpoint twice',
    async ({ source, seekable, froms: expectedFroms, secondRunReads }) => {
      const clock = new ManualClock(0);
      const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(1, 0) }).enableCheckpointing(10, {
        storage: mkdtempSync(join(tmpdir(), 'ckpt-')),
      });
      // Where each run's iterable started, and how many records it yielded.
      const froms: number[] = [];
      const yielded: number[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      async function* numbers(from: number) {
        const run = froms.push(from);
        yielded[run - 1] = 0;
        for (let i = from; i < 200; i++) {
          // The first run waits at 100 until checkpoint 1 covered records 0-99.
          if (i === 100 && run === 1) await gate;
          yielded[run - 1]!++;
          yield i;
        }
      }
      let failed = false;
      const seen: number[] = [];
      (source === '() => numbers(0)' ? env.fromAsyncIterable(() => numbers(0)) : env.fromAsyncIterable((from) => numbers(from), { seekable }))
        .map((n) => {
          if (n === 150 && !failed) {
            failed = true;
            throw new Error('crash at 150');
          }
          return n;
        })
        .addSink((n) => void seen.push(n));
      const job = env.executeAsync('replay');
      await until(() => seen.length === 100, 'records 0-99');
      await clock.advance(10);
      await until(() => completedCheckpoints(env, 'replay') === 1, 'checkpoint 1');
      release();
      await driveUntilDone(job.result, clock);
      const result = await job.result;
      expect(result.status).toBe('finished');
      expect(result.restarts).toBe(1);
      expect(froms).toEqual(expectedFroms);
      // The second run skipped what the checkpoint covered: by reading records 0-99 again to drop them, or by starting at 100.
      expect(yielded[1]).toBe(secondRunReads);
      expect(new Set(seen)).toEqual(new Set(Array.from({ length: 200 }, (_, i) => i)));
      // Only records after the checkpoint may come twice (at least once).
      expect(seen.filter((n) => n < 100)).toHaveLength(100);
    },
  );
});
