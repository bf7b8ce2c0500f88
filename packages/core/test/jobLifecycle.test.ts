import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  JobExecutionError,
  ManualClock,
  RestartStrategies,
  drain,
  StreamExecutionEnvironment,
  type JobClient,
  type Sink,
  type Source,
} from '../src/index.js';
import { JobWatchdog, type TaskStatus } from '../src/runtime/JobWatchdog.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

const never = () => new Promise<never>(() => undefined);

/** A sink that keeps what it is written and whose close() never settles. */
function sinkWithStuckClose(seen: number[], closes: { started: number }): Sink<number> {
  return {
    createWriter: () => ({
      write: (n) => void seen.push(n),
      close: () => {
        closes.started++;
        return never();
      },
    }),
  };
}

async function statusAfterSettling(job: JobClient): Promise<string> {
  await drain();
  return job.status;
}

describe('bounded cancel: a close() that never settles', () => {
  it('ends the cancelled job closeTimeoutMs later and reports which close it gave up on', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, closeTimeoutMs: 5_000 });
    const gate = gatedSource(1_000_000);
    const seen: number[] = [];
    const closes = { started: 0 };
    env.fromSource(gate.source, 'numbers').sinkTo(sinkWithStuckClose(seen, closes)).name('archive').uid('out');
    const job = env.executeAsync('stuck close');
    gate.openUntil(10);
    await until(() => seen.length === 10, '10 records');

    job.cancel();
    await until(() => closes.started === 1, 'the close to start');
    await clock.advance(4_999);
    expect(await statusAfterSettling(job)).toBe('running');
    expect(job.tasks()).toEqual([{ task: 'numbers -> archive (1/1)', waitingOn: "close() of 'archive' (uid 'out')", ended: false }]);

    await clock.advance(1);
    const result = await job.result;
    expect(result.status).toBe('cancelled');
    const unfinished = [{ operator: "'archive' (uid 'out')", task: 'numbers -> archive (1/1)' }];
    expect(result.unfinishedCloses).toEqual(unfinished);
    expect(job.unfinishedCloses).toEqual(unfinished);
  });

  it('bounds a close that had started at the normal end of the job once cancel() is called', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    const seen: number[] = [];
    const closes = { started: 0 };
    env.fromElements(1, 2, 3).sinkTo(sinkWithStuckClose(seen, closes)).name('archive');
    const job = env.executeAsync('stuck at the end');
    await until(() => closes.started === 1, 'the close to start');
    // At the normal end a close is awaited however long it takes: time alone does not end the job.
    await clock.advance(60_000);
    expect(await statusAfterSettling(job)).toBe('running');

    job.cancel();
    await clock.advance(30_000);
    const result = await job.result;
    expect(result.status).toBe('cancelled');
    expect(seen).toEqual([1, 2, 3]);
    expect(result.unfinishedCloses.map((c) => c.operator)).toEqual(["'archive'"]);
  });

  it('cancels a job whose sink open() and source read() never settle', async () => {
    const env = StreamExecutionEnvironment.create();
    let reads = 0;
    env.fromSource<number>({ createReader: () => ({ read: () => (reads++, never()), position: () => 0 }) }, 'silent').print();
    env.fromElements(1).sinkTo({ createWriter: never }).name('never opens');
    const job = env.executeAsync('never ready');
    await until(() => reads === 1 && job.tasks().some((t) => t.waitingOn === "open() of 'never opens'"), 'both waits');
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
  });

  it('a close that rejects after it was given up on leaks no rejection', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, closeTimeoutMs: 10 });
    let rejectClose!: (error: Error) => void;
    const gate = gatedSource(1_000_000);
    env.fromSource(gate.source, 'numbers').sinkTo({
      createWriter: () => ({
        write: () => undefined,
        close: () => new Promise<void>((_, reject) => (rejectClose = reject)),
      }),
    });
    const job = env.executeAsync('late reject');
    gate.openUntil(1);
    job.cancel();
    await until(() => rejectClose !== undefined, 'the close to start');
    await clock.advance(10);
    expect((await job.result).status).toBe('cancelled');
    rejectClose(new Error('closed too late'));
    // vitest runs with --unhandled-rejections=strict: a leak would fail the run here.
    await drain();
  });
});

describe('a sink whose writer is still being made when the job stops', () => {
  it('closes that writer once it arrives, without holding up the cancel', async () => {
    let openWriter!: () => void;
    const events: string[] = [];
    const sink: Sink<number> = {
      createWriter: () =>
        new Promise((resolve) => {
          events.push('open started');
          openWriter = () => resolve({ write: () => undefined, close: () => void events.push('writer closed') });
        }),
    };
    const env = StreamExecutionEnvironment.create();
    env.fromElements(1, 2, 3).sinkTo(sink).name('files');
    const job = env.executeAsync('open interrupted');
    await until(() => events.length === 1, 'the open to start');
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
    openWriter();
    await drain();
    // Before, close() had found no writer, and the one made later (an exactly-once FileSink's open file) stayed open:
    // one leaked file per restart.
    expect(events).toEqual(['open started', 'writer closed']);
  });
});

describe('failover does not hang on a close', () => {
  it('restarts closeTimeoutMs after a failure whose close never settles, and the restarted job finishes', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(1, 0), closeTimeoutMs: 1_000 });
    const seen: number[] = [];
    let attempts = 0;
    env
      .fromCollection(Array.from({ length: 100 }, (_, i) => i))
      .map((n) => {
        if (n === 50 && attempts === 1) throw new Error('crash at 50');
        return n;
      })
      .name('check')
      .sinkTo({
        createWriter: () => {
          const attempt = ++attempts;
          return {
            write: (n: number) => void seen.push(n),
            // Only the first attempt's close hangs.
            close: () => (attempt === 1 ? never() : undefined),
          };
        },
      })
      .name('out');
    const job = env.executeAsync('failover');
    await driveUntilDone(job.result, clock);
    const result = await job.result;
    expect(result.status).toBe('finished');
    expect(result.restarts).toBe(1);
    expect(clock.now()).toBe(1_000);
    expect(result.unfinishedCloses).toEqual([{ operator: "'out'", task: "Source: Collection -> check -> out (1/1)" }]);
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 100 }, (_, i) => i)));
  });

  it('names the given-up close in the error when the job fails for good', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, closeTimeoutMs: 1_000 });
    env
      .fromElements(1)
      .map(() => {
        throw new Error('bad record');
      })
      .name('check')
      .sinkTo({ createWriter: () => ({ write: () => undefined, close: never }) })
      .name('out');
    const job = env.executeAsync('fails');
    await driveUntilDone(job.result, clock);
    const error = (await job.result.catch((e: unknown) => e)) as JobExecutionError;
    expect(error).toBeInstanceOf(JobExecutionError);
    expect(error.message).toBe(
      "Job 'fails' failed in operator 'check': bad record (gave up waiting for close() of 'out' in task 'Source: Elements -> check -> out (1/1)')",
    );
    expect(error.unfinishedCloses).toEqual([{ operator: "'out'", task: 'Source: Elements -> check -> out (1/1)' }]);
  });
});

describe('every failure reaches execute(), none leaks', () => {
  it('an open() that rejects after another task failed the job leaks no rejection; execute() names the first failure', async () => {
    const env = StreamExecutionEnvironment.create();
    const broken: Source<number> = {
      createReader: () => ({ start: () => Promise.reject(new Error('broker gone')), read: () => null, position: () => 0 }),
    };
    env.fromSource(broken, 'broker').print();
    env
      .fromElements(1)
      .map({ map: (n: number) => n, open: () => new Promise<void>((_, reject) => setImmediate(() => reject(new Error('late open')))) })
      .name('late')
      // The sink opens first (tail first) and waits until the job stops; then the map opens and rejects.
      .sinkTo({ createWriter: never })
      .name('waits');
    await expect(env.execute('two failures')).rejects.toThrow("Job 'two failures' failed in operator 'broker': broker gone");
    await drain();
  });

  it('a read() that rejects once the job is cancelled leaks no rejection', async () => {
    const env = StreamExecutionEnvironment.create();
    let reads = 0;
    const source: Source<number> = {
      createReader: (ctx) => ({
        read: () => {
          reads++;
          // A broker client: the pending read fails when the job's signal aborts.
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('read aborted'))));
        },
        position: () => 0,
      }),
    };
    env.fromSource(source, 'broker').print();
    const job = env.executeAsync('cancel a read');
    await until(() => reads === 1, 'a pending read');
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
    await drain();
  });

  it('a createReader() that throws fails the job naming the source, and the restart strategy runs', async () => {
    const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(2, 0) });
    let created = 0;
    env
      .fromSource<number>(
        {
          createReader: () => {
            created++;
            throw new Error('no connection');
          },
        },
        'broker',
      )
      .print();
    const error = (await env.execute('no reader').catch((e: unknown) => e)) as JobExecutionError;
    expect(error.message).toBe("Job 'no reader' failed after 2 restarts in operator 'broker': no connection");
    expect(created).toBe(3);
  });

  it('an operator factory that throws fails the job naming the operator, and the restart strategy runs', async () => {
    const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    let created = 0;
    env
      .fromElements(1)
      .transform('embed', () => {
        created++;
        throw new Error('no model');
      })
      .print();
    await expect(env.execute('no operator')).rejects.toThrow("Job 'no operator' failed after 1 restart in operator 'embed': no model");
    expect(created).toBe(2);
  });

  it('a notifyCheckpointComplete() that rejects fails the job naming the sink', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const gate = gatedSource(1_000_000);
    env
      .fromSource(gate.source, 'numbers')
      .sinkTo({ createWriter: () => ({ write: () => undefined, notifyCheckpointComplete: () => Promise.reject(new Error('commit refused')) }) })
      .name('committer');
    const job = env.executeAsync('commit');
    gate.openUntil(5);
    await clock.advance(10);
    await expect(job.result).rejects.toThrow("Job 'commit' failed in operator 'committer': commit refused");
  });

  it('a close() that rejects during failover does not replace the failure that caused it', async () => {
    const env = StreamExecutionEnvironment.create();
    env
      .fromElements(1)
      .map(() => {
        throw new Error('first');
      })
      .name('check')
      .sinkTo({ createWriter: () => ({ write: () => undefined, close: () => Promise.reject(new Error('close failed too')) }) });
    await expect(env.execute('close fails')).rejects.toThrow("Job 'close fails' failed in operator 'check': first");
  });
});

describe('a job that can make no progress is visible', () => {
  it('the job client shows what each task waits on', async () => {
    const env = StreamExecutionEnvironment.create();
    env.fromElements(1, 2).sinkTo({ createWriter: () => ({ write: () => undefined, flush: never }) }).name('batcher');
    const job = env.executeAsync('waits');
    await until(() => job.tasks()[0]?.waitingOn !== undefined, 'the task to wait');
    const waiting = job.tasks();
    expect(waiting).toEqual([{ task: 'Source: Elements -> batcher (1/1)', waitingOn: "endInput() of 'batcher'", ended: false }]);
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
    expect(job.tasks()).toEqual([{ task: 'Source: Elements -> batcher (1/1)', waitingOn: undefined, ended: true }]);
    // Each status is plain data the task produced at that moment: it survives a structured clone (a port) and does not change after.
    expect(structuredClone(waiting)).toEqual(waiting);
    expect(waiting).toEqual([{ task: 'Source: Elements -> batcher (1/1)', waitingOn: "endInput() of 'batcher'", ended: false }]);
  });

  function watchdog(tasks: TaskStatus[], progress: { n: number }, warnings: string[], stallWarningMs = 100, clock = new ManualClock(0)) {
    return new JobWatchdog({ jobName: 'j', clock, stallWarningMs, progress: () => progress.n, tasks: () => tasks, warn: (m) => void warnings.push(m) });
  }

  it('warns once no record moved for stallWarningMs while a task waits on pending work, naming it', async () => {
    const tasks: TaskStatus[] = [
      { task: 'Source: a -> Batch (1/1)', waitingOn: "endInput() of 'Batch'", ended: false },
      { task: 'Sink (1/1)', waitingOn: 'input', ended: false },
    ];
    const progress = { n: 5 };
    const warnings: string[] = [];
    const clock = new ManualClock(0);
    const dog = watchdog(tasks, progress, warnings, 100, clock);
    dog.check();
    await clock.setTime(60);
    progress.n++; // records moved at 60: the stall counts from there
    dog.check();
    await clock.setTime(159);
    dog.check();
    expect(warnings).toEqual([]);
    await clock.setTime(160);
    dog.check();
    await clock.setTime(300);
    dog.check();
    expect(warnings).toEqual([
      "Job 'j' moved no record for 100 ms and waits on pending work: task 'Source: a -> Batch (1/1)' on endInput() of 'Batch' " +
        '(see JobClient.tasks(); a promise of these operators may never settle)',
    ]);
    progress.n++;
    dog.check();
    await clock.setTime(400);
    dog.check();
    expect(warnings).toHaveLength(2);
  });

  it('names the checkpoint storage, not the operators, when tasks wait only on the final checkpoint while a storage call is pending', async () => {
    const clock = new ManualClock(0);
    const warnings: string[] = [];
    const fields: unknown[] = [];
    const tasks: TaskStatus[] = [{ task: 'Source: Elements -> Sink (1/1)', waitingOn: 'the final checkpoint', ended: false }];
    const dog = new JobWatchdog({
      jobName: 'j',
      clock,
      stallWarningMs: 100,
      progress: () => 0,
      tasks: () => tasks,
      storageCall: () => 'highestCheckpointId()',
      warn: (m, f) => {
        warnings.push(m);
        fields.push(f);
      },
    });
    dog.check();
    await clock.setTime(100);
    dog.check();
    expect(warnings).toEqual([
      "Job 'j' moved no record for 100 ms and waits on pending work: task 'Source: Elements -> Sink (1/1)' on the final checkpoint " +
        '(highestCheckpointId() of the checkpoint storage has not settled)',
    ]);
    expect(fields).toEqual([{ stalledMs: 100, waits: [{ task: 'Source: Elements -> Sink (1/1)', waitingOn: 'the final checkpoint' }], storageCall: 'highestCheckpointId()' }]);
  });

  it('does not warn about a job that only waits for input, nor when turned off', async () => {
    const progress = { n: 0 };
    const warnings: string[] = [];
    const clock = new ManualClock(0);
    const idle = watchdog([{ task: 'Source: redis (1/1)', waitingOn: 'input', ended: false }], progress, warnings, 100, clock);
    const off = watchdog([{ task: 'T (1/1)', waitingOn: "close() of 'x'", ended: false }], progress, warnings, 0, clock);
    for (const t of [0, 100, 200, 300]) {
      await clock.setTime(t);
      idle.check();
      off.check();
    }
    expect(warnings).toEqual([]);
  });

  it('rejects bad closeTimeoutMs and stallWarningMs when the environment is created', () => {
    expect(() => StreamExecutionEnvironment.create({ closeTimeoutMs: -1 })).toThrow(
      "StreamExecutionEnvironment.create(): option 'closeTimeoutMs' must be a finite number of milliseconds >= 0, got -1",
    );
    expect(() => StreamExecutionEnvironment.create({ closeTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(/closeTimeoutMs/);
    expect(() => StreamExecutionEnvironment.create({ stallWarningMs: 1.5 })).toThrow(
      "StreamExecutionEnvironment.create(): option 'stallWarningMs' must be a finite whole number of milliseconds >= 0, got 1.5",
    );
    // Any length: the watchdog's system clock chains waits past setTimeout's 2^31 ms.
    expect(() => StreamExecutionEnvironment.create({ stallWarningMs: 30 * 24 * 60 * 60 * 1000 })).not.toThrow();
  });

  it('checks on its clock four times per stallWarningMs until stopped, warning within a quarter of it after the stall reaches its length', async () => {
    const clock = new ManualClock(0);
    const warnings: string[] = [];
    const dog = new JobWatchdog({
      jobName: 'j',
      clock,
      stallWarningMs: 100,
      progress: () => 0,
      tasks: () => [{ task: 'T (1/1)', waitingOn: "close() of 'x'", ended: false }],
      warn: (m) => void warnings.push(m),
    });
    const stop = dog.start(); // the first check, at 0, records where progress stands
    await clock.advance(99);
    expect(warnings).toEqual([]);
    await clock.advance(1); // the check at 100 sees 100 ms without a record
    expect(warnings).toHaveLength(1);
    stop();
    expect(clock.nextTimerAt()).toBeUndefined();
  });
});
