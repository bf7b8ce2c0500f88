import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventLog,
  InvalidJobError,
  ManualClock,
  RATE_LIMIT_MS,
  RestartStrategies,
  silentLogger,
  stderrLogger,
  StreamExecutionEnvironment,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type LogFields,
  type Logger,
  type LogLevel,
  type MapFunction,
  type RuntimeContext,
  type Sink,
} from '../src/index.js';
import { JobWatchdog } from '../src/runtime/JobWatchdog.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

/** Every job event carries the run's id (32 hex digits, new per execute()). */
const JOB_ID = expect.stringMatching(/^[0-9a-f]{32}$/);

interface Line {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps every line, to assert on events by name. */
function recordingLogger() {
  const lines: Line[] = [];
  const at =
    (level: LogLevel) =>
    (message: string, fields: LogFields): void =>
      void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines, events: (event: string) => lines.filter((l) => l.fields.event === event) };
}

/**
 * Checkpoints in memory: each store waits for `release()` when `hold` is set
 * (so time can pass while a checkpoint is stored), and may fail.
 */
function memoryStorage(options: { failWith?: Error; hold?: boolean } = {}) {
  const stored: CompletedCheckpoint[] = [];
  let release: (() => void) | undefined;
  const storage: CheckpointStorage = {
    store: async (checkpoint) => {
      if (options.hold === true) await new Promise<void>((resolve) => (release = resolve));
      if (options.failWith !== undefined) throw options.failWith;
      stored.push(checkpoint);
      return { location: `mem-${checkpoint.checkpointId}`, bytes: 100 + checkpoint.checkpointId };
    },
    highestCheckpointId: () => Promise.resolve(stored.at(-1)?.checkpointId ?? 0),
    loadLatest: () => {
      const latest = stored.at(-1);
      return Promise.resolve(latest === undefined ? undefined : { location: `mem-${latest.checkpointId}`, checkpoint: latest });
    },
    load: (location) => Promise.reject(new Error(`no checkpoint ${location}`)),
  };
  return {
    storage,
    stored,
    release: () => {
      release?.();
      release = undefined;
    },
    storing: () => release !== undefined,
  };
}

const never = () => new Promise<never>(() => undefined);

describe('the logger option', () => {
  it('accepts console and any object with the four methods; rejects anything else naming the option and what is missing', () => {
    expect(StreamExecutionEnvironment.create({ runtime: 'single-thread', logger: console }).logger).toBe(console);
    expect(StreamExecutionEnvironment.create({ runtime: 'single-thread', logger: silentLogger }).logger).toBe(silentLogger);
    expect(StreamExecutionEnvironment.create({ runtime: 'single-thread' }).logger).toBe(stderrLogger);
    const bad = (logger: unknown) => () => StreamExecutionEnvironment.create({ runtime: 'single-thread', logger: logger as Logger });
    expect(bad({ info: () => undefined, warn: () => undefined })).toThrow(
      new InvalidJobError(
        "StreamExecutionEnvironment.create(): option 'logger' must be a Logger (an object with debug(), info(), warn() and error()), got an object without debug(), error()",
      ),
    );
    expect(bad('stderr')).toThrow("option 'logger' must be a Logger (an object with debug(), info(), warn() and error()), got 'stderr'");
    expect(bad(null)).toThrow("option 'logger' must be a Logger (an object with debug(), info(), warn() and error()), got null");
  });

  it('reaches rich functions as RuntimeContext.logger', async () => {
    const { logger, lines } = recordingLogger();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0), logger });
    env
      .fromElements(1)
      .map({
        open(ctx: RuntimeContext) {
          ctx.logger.info('enricher ready', { subtask: ctx.subtaskIndex });
        },
        map: (n: number) => n,
      } satisfies MapFunction<number, number>)
      .addSink(() => undefined);
    await env.execute('user logs');
    expect(lines).toContainEqual({ level: 'info', message: 'enricher ready', fields: { subtask: 0 } });
  });

  it('never fails a job because its logger throws', async () => {
    const throwing: Logger = {
      debug: () => undefined,
      info: () => {
        throw new Error('log disk full');
      },
      warn: () => undefined,
      error: () => undefined,
    };
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0), logger: throwing });
    const out: number[] = [];
    env.fromElements(1, 2).addSink((n) => void out.push(n));
    expect((await env.execute('logs into a full disk')).status).toBe('finished');
    expect(out).toEqual([1, 2]);
  });

  it('never fails a job (or the process) because an async logger rejects', async () => {
    let rejected = 0;
    // An async method where the type says void: what TypeScript lets a caller pass (through a cast here, for the lint).
    const info = async (): Promise<void> => {
      rejected++;
      throw new Error('log service down');
    };
    const rejecting = { debug: () => undefined, info: info as () => void, warn: () => undefined, error: () => undefined } satisfies Logger;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0), logger: rejecting });
      env.fromElements(1).addSink(() => undefined);
      expect((await env.execute('logs into a dead service')).status).toBe('finished');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(rejected).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });
});

describe('the default logger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes warnings and errors as one line each with their fields, and drops info and debug', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    stderrLogger.info('started', { event: 'job.started' });
    stderrLogger.debug('detail', { event: 'x' });
    stderrLogger.warn("Job 'j' restarts\nin 100 ms", { event: 'job.restarting', job: 'j', delayMs: 100, cause: 'line one\nline two' });
    stderrLogger.error('failed', { event: 'job.ended', status: 'failed' });
    expect(info).not.toHaveBeenCalled();
    expect(debug).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    expect(warn.mock.calls).toEqual([
      ["[tributary] warn job.restarting: Job 'j' restarts\\nin 100 ms { event: 'job.restarting', job: 'j', delayMs: 100, cause: 'line one\\nline two' }"],
    ]);
    expect(error.mock.calls).toEqual([["[tributary] error job.ended: failed { event: 'job.ended', status: 'failed' }"]]);
  });
});

describe('job events', () => {
  it('job.started and job.ended: the job, its status, duration, records read and restarts', async () => {
    const clock = new ManualClock(1_000);
    const { logger, events } = recordingLogger();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, logger });
    const gate = gatedSource(5);
    env.fromSource(gate.source, 'numbers').addSink(() => undefined);
    const job = env.executeAsync('orders');
    // Written once the caller holds the client (a microtask later), so that its listeners see it.
    expect(events('job.started')).toEqual([]);
    await Promise.resolve();
    expect(events('job.started')).toEqual([{ level: 'info', message: "Job 'orders' started", fields: { event: 'job.started', job: 'orders', jobId: JOB_ID, restoreFrom: undefined } }]);
    await clock.advance(250);
    gate.openUntil(5);
    await job.result;
    expect(events('job.ended')).toEqual([
      {
        level: 'info',
        message: "Job 'orders' finished after 250 ms",
        fields: { event: 'job.ended', job: 'orders', jobId: JOB_ID, status: 'finished', durationMs: 250, records: 5, restarts: 0 },
      },
    ]);
  });

  it('job.restarting names the operator, task and subtask that failed, the cause, the delay and the attempt; job.ended says failed when restarts run out', async () => {
    const clock = new ManualClock(0);
    const { logger, events } = recordingLogger();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, logger, parallelism: 2, restartStrategy: RestartStrategies.fixedDelay(1, 100) });
    env
      .fromElements(1, 2, 3, 4)
      .map({
        open(ctx: RuntimeContext) {
          if (ctx.subtaskIndex === 1) throw new Error('model not found');
        },
        map: (n: number) => n,
      } satisfies MapFunction<number, number>)
      .name('enrich')
      .addSink(() => undefined);
    const result = env.execute('restarts');
    await driveUntilDone(result, clock);
    await expect(result).rejects.toThrow('model not found');
    const restarts = events('job.restarting');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]?.level).toBe('warn');
    expect(restarts[0]?.fields).toEqual({
      event: 'job.restarting',
      job: 'restarts', jobId: JOB_ID,
      operator: "'enrich'",
      task: 'enrich -> Sink: Function (2/2)',
      subtask: 1,
      cause: 'model not found',
      delayMs: 100,
      attempt: 1,
    });
    // Restarted from the start: no checkpoint id, not even an undefined one.
    expect(Object.keys(restarts[0]?.fields ?? {})).not.toContain('fromCheckpointId');
    expect(restarts[0]?.message).toBe("Job 'restarts' failed in 'enrich' and restarts in 100 ms (restart 1): model not found");
    const ended = events('job.ended');
    expect(ended.map((l) => [l.level, l.fields.status, l.fields.durationMs])).toEqual([['error', 'failed', 100]]);
    expect(ended[0]?.fields.cause).toContain('model not found');
  });

  it('checkpoint.completed with id, location, size and duration; job.restored with the checkpoint and where it came from', async () => {
    const clock = new ManualClock(0);
    const memory = memoryStorage({ hold: true });
    const run = (restoreFrom?: 'latest') => {
      const { logger, events } = recordingLogger();
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, logger }).enableCheckpointing(100, { storage: memory.storage });
      const gate = gatedSource(4);
      env.fromSource(gate.source, 'numbers').addSink(() => undefined);
      const job = env.executeAsync('checkpointed', restoreFrom === undefined ? {} : { restoreFrom });
      return { job, gate, events };
    };

    const first = run();
    first.gate.openUntil(2);
    await clock.advance(100);
    await until(() => memory.storing(), 'checkpoint 1 to be stored');
    await clock.advance(7);
    memory.release();
    await until(() => first.events('checkpoint.completed').length === 1, 'checkpoint 1 to complete');
    expect(first.events('checkpoint.completed')).toEqual([
      {
        level: 'info',
        message: 'Checkpoint 1 stored at mem-1 (101 bytes, 7 ms)',
        fields: { event: 'checkpoint.completed', job: 'checkpointed', jobId: JOB_ID, checkpointId: 1, location: 'mem-1', sizeBytes: 101, durationMs: 7, alignmentMs: 0, final: false },
      },
    ]);
    first.gate.openUntil(4);
    await until(() => memory.stored.length === 1 && memory.storing(), 'the final checkpoint to be stored');
    memory.release();
    await first.job.result;
    expect(first.events('checkpoint.completed').map((l) => [l.fields.checkpointId, l.fields.final])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(first.events('job.restored')).toEqual([]);

    const second = run('latest');
    await until(() => second.events('job.restored').length === 1, 'the restore');
    expect(second.events('job.restored')).toEqual([
      {
        level: 'info',
        message: "Job 'checkpointed' restores checkpoint 2 from mem-2",
        fields: { event: 'job.restored', job: 'checkpointed', jobId: JOB_ID, checkpointId: 2, location: 'mem-2' },
      },
    ]);
    second.job.cancel();
    memory.release();
    await driveUntilDone(second.job.result, clock);
  });

  it('checkpoint.damaged: a checkpoint directory given by path reports the damaged checkpoint it skips', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-log-'));
    const run = async (restoreFrom?: 'latest') => {
      const { logger, events } = recordingLogger();
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0), logger }).enableCheckpointing(100, { storage: dir });
      env.fromElements(1, 2).addSink(() => undefined);
      await env.execute('damaged', restoreFrom === undefined ? {} : { restoreFrom });
      return events;
    };
    await run();
    await run('latest');
    const [, second] = readdirSync(dir).sort();
    const file = join(dir, second as string);
    writeFileSync(file, readFileSync(file).subarray(0, 20));
    const events = await run('latest');
    expect(events('checkpoint.damaged')).toEqual([
      {
        level: 'warn',
        message: `Skipping damaged checkpoint: checkpoint ${file} is not a Tributary checkpoint or is truncated`,
        fields: { event: 'checkpoint.damaged' },
      },
    ]);
    expect(events('job.restored').map((l) => l.fields.checkpointId)).toEqual([1]);
  });

  it('checkpoint.failed with the id and the cause', async () => {
    const clock = new ManualClock(0);
    const { logger, events } = recordingLogger();
    const memory = memoryStorage({ failWith: new Error('disk full') });
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, logger }).enableCheckpointing(100, { storage: memory.storage });
    env.fromElements(1, 2).addSink(() => undefined);
    await expect(env.execute('full disk')).rejects.toThrow('disk full');
    expect(events('checkpoint.failed')).toEqual([
      {
        level: 'warn',
        message: 'Checkpoint 1 could not be stored: disk full',
        fields: { event: 'checkpoint.failed', job: 'full disk', jobId: JOB_ID, checkpointId: 1, cause: 'disk full', final: true },
      },
    ]);
    expect(events('checkpoint.completed')).toEqual([]);
  });

  it('operator.closeTimedOut names the operator, the task and the timeout', async () => {
    const clock = new ManualClock(0);
    const { logger, events } = recordingLogger();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, logger, closeTimeoutMs: 50 });
    const gate = gatedSource(100);
    let closing = false;
    const stuck: Sink<number> = {
      createWriter: () => ({
        write: () => undefined,
        close: () => {
          closing = true;
          return never();
        },
      }),
    };
    env.fromSource(gate.source, 'numbers').sinkTo(stuck).name('archive');
    const job = env.executeAsync('stuck close');
    job.cancel();
    await until(() => closing, 'the close to start');
    expect(events('operator.closeTimedOut')).toEqual([]);
    await clock.advance(50);
    expect((await job.result).status).toBe('cancelled');
    expect(events('operator.closeTimedOut')).toEqual([
      {
        level: 'warn',
        message: "close() of 'archive' in task 'numbers -> archive (1/1)' did not finish within 50 ms; the job went on without it",
        fields: { event: 'operator.closeTimedOut', job: 'stuck close', jobId: JOB_ID, operator: "'archive'", task: 'numbers -> archive (1/1)', closeTimeoutMs: 50 },
      },
    ]);
  });

  it('job.stalled carries how long and what each task waits on', async () => {
    const warnings: LogFields[] = [];
    const clock = new ManualClock(0);
    const dog = new JobWatchdog({
      jobName: 'j',
      clock,
      stallWarningMs: 100,
      progress: () => 0,
      tasks: () => [
        { task: 'A (1/1)', waitingOn: "endInput() of 'Batch'", ended: false },
        { task: 'B (1/1)', waitingOn: 'input', ended: false },
      ],
      warn: (_message, fields) => void warnings.push(fields),
    });
    dog.check();
    await clock.setTime(125);
    dog.check();
    expect(warnings).toEqual([{ stalledMs: 125, waits: [{ task: 'A (1/1)', waitingOn: "endInput() of 'Batch'" }] }]);
  });
});

describe('EventLog.rateLimited', () => {
  it('writes at most one line per RATE_LIMIT_MS of the clock, with the count since the last line, and flushes what it holds', async () => {
    const clock = new ManualClock(0);
    const { logger, lines } = recordingLogger();
    const log = new EventLog(logger, clock, { job: 'j' });
    const op = log.with({ operator: "'enrich'", subtask: 0 });
    const other = log.with({ operator: "'enrich'", subtask: 1 });
    const letter = (at: EventLog, error: string) => at.rateLimited('warn', 'async.deadLettered', (n) => `${n} dead-lettered`, { lastError: error });
    letter(op, 'e1');
    letter(op, 'e2');
    letter(other, 'e3');
    await clock.setTime(RATE_LIMIT_MS - 1);
    letter(op, 'e4');
    expect(lines.map((l) => [l.message, l.fields.subtask, l.fields.count, l.fields.lastError])).toEqual([
      ['1 dead-lettered', 0, 1, 'e1'],
      ['1 dead-lettered', 1, 1, 'e3'],
    ]);
    await clock.setTime(RATE_LIMIT_MS);
    letter(op, 'e5');
    expect(lines.at(-1)?.fields).toEqual({ event: 'async.deadLettered', job: 'j', operator: "'enrich'", subtask: 0, lastError: 'e5', count: 3 });
    letter(op, 'e6');
    letter(op, 'e7');
    log.flush();
    log.flush();
    expect(lines.slice(3).map((l) => [l.message, l.fields.count, l.fields.lastError])).toEqual([['2 dead-lettered', 2, 'e7']]);
  });

  it('lets go of the logs bound to an attempt once it flushed them: a job that restarts often does not keep one per operator per restart', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const log = new EventLog(silentLogger, new ManualClock(0), { job: 'j' });
    const attempt = (): WeakRef<EventLog> => new WeakRef(log.with({ operator: "'map'", subtask: 0 }));
    const bound = attempt();
    log.flush();
    // A WeakRef holds its target until the turn that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(bound.deref()).toBeUndefined();
  });
});
