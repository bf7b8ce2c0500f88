import { describe, expect, it } from 'vitest';
import {
  createOperatorContext,
  HeapKeyedStateBackend,
  Mailbox,
  ManualClock,
  MetricRegistry,
  StreamExecutionEnvironment,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type KeyedProcessFunction,
  type MailboxOwner,
  type SinkWriter,
  type TaskHooks,
  TaskTime,
} from '../src/index.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

/** A mailbox owner that records what the mailbox tells it; a failure closes it, as a failed job does. `now` is its task's time. */
function owner(now: () => number = () => 0) {
  const o = {
    mailboxClosed: false as boolean,
    time: new TaskTime(now),
    failures: [] as { error: unknown; operator: string }[],
    done: 0,
    mailFailed(error: unknown, operator: string) {
      o.failures.push({ error, operator });
      o.mailboxClosed = true;
    },
    mailsDone() {
      o.done++;
    },
  } satisfies MailboxOwner & Record<string, unknown>;
  return o;
}

/** Runs `body` with a log that each mail writes to, and checks that no mail ever runs inside another. */
function logged(body: (mailbox: Mailbox, mail: (name: string, then?: () => void) => () => void) => void) {
  const o = owner();
  const mailbox = new Mailbox(o);
  const log: string[] = [];
  let depth = 0;
  let maxDepth = 0;
  const mail = (name: string, then?: () => void) => () => {
    maxDepth = Math.max(maxDepth, ++depth);
    log.push(name);
    then?.();
    depth--;
  };
  body(mailbox, mail);
  return { log, maxDepth, owner: o, mailbox };
}

describe('Mailbox', () => {
  it('runs a mail sent while idle at once, in the same call (no microtask), and flushes after it', () => {
    let ranInCall = false;
    const { log, owner: o } = logged((mailbox, mail) => {
      mailbox.execute(mail('a', () => (ranInCall = true)), 'Op');
      expect(ranInCall).toBe(true);
    });
    expect(log).toEqual(['a']);
    expect(o.done).toBe(1);
  });

  const nested: { name: string; send: (mailbox: Mailbox, mail: (name: string, then?: () => void) => () => void) => void; order: string[] }[] = [
    {
      name: 'a mail sent from inside a mail runs after it',
      send: (m, mail) => m.execute(mail('outer', () => m.execute(mail('inner'), 'Op')), 'Op'),
      order: ['outer', 'inner'],
    },
    {
      name: 'mails sent from inside a mail run in the order sent',
      send: (m, mail) =>
        m.execute(
          mail('outer', () => {
            m.execute(mail('1'), 'Op');
            m.execute(mail('2'), 'Op');
            m.execute(mail('3'), 'Op');
          }),
          'Op',
        ),
      order: ['outer', '1', '2', '3'],
    },
    {
      name: 'a mail sent by a queued mail runs after every mail queued before it',
      send: (m, mail) =>
        m.execute(
          mail('outer', () => {
            m.execute(mail('1', () => m.execute(mail('1.1'), 'Op')), 'Op');
            m.execute(mail('2'), 'Op');
          }),
          'Op',
        ),
      order: ['outer', '1', '2', '1.1'],
    },
    {
      name: "mails sent during the task's own work run when it leaves, in order",
      send: (m, mail) => {
        m.enter();
        m.execute(mail('1'), 'Op');
        m.execute(mail('2'), 'Op');
        expect(m.queued).toBe(2);
        mail('records')();
        m.leave();
      },
      order: ['records', '1', '2'],
    },
  ];
  it.each(nested)('$name, never nested', ({ send, order }) => {
    const { log, maxDepth, mailbox } = logged(send);
    expect(log).toEqual(order);
    expect(maxDepth).toBe(1);
    expect(mailbox.busy).toBe(false);
    expect(mailbox.queued).toBe(0);
  });

  it('charges mails that come while the task waits to busy time, the outermost with its queue, and resumes the wait after them', () => {
    let now = 0;
    const o = owner(() => now);
    const { time } = o;
    const mailbox = new Mailbox(o);
    time.switchTo(time.idleTimeMs);
    now = 10;
    mailbox.execute(() => {
      now += 3;
      mailbox.execute(() => (now += 2), 'Op');
    }, 'Op');
    now += 4;
    time.switchTo(undefined);
    now += 100;
    expect([time.busyTimeMs.count, time.idleTimeMs.count, time.backPressuredTimeMs.count]).toEqual([5, 14, 0]);
    expect(o.done).toBe(1);
  });

  const dropped: { name: string; run: (mailbox: Mailbox, o: ReturnType<typeof owner>, mail: (name: string, then?: () => void) => () => void) => void; log: string[] }[] = [
    {
      name: 'a mail sent after the task ended or the job stopped',
      run: (m, o, mail) => {
        o.mailboxClosed = true;
        m.execute(mail('late'), 'Op');
      },
      log: [],
    },
    {
      name: 'queued mails once the job stops during the running one',
      run: (m, o, mail) =>
        m.execute(
          mail('stopping', () => {
            m.execute(mail('queued'), 'Op');
            o.mailboxClosed = true;
          }),
          'Op',
        ),
      log: ['stopping'],
    },
    {
      name: "queued mails once the job stops during the task's own work",
      run: (m, o, mail) => {
        m.enter();
        m.execute(mail('queued'), 'Op');
        o.mailboxClosed = true;
        m.leave();
      },
      log: [],
    },
  ];
  it.each(dropped)('drops $name', ({ run, log: expected }) => {
    const o = owner();
    const mailbox = new Mailbox(o);
    const log: string[] = [];
    const mail = (name: string, then?: () => void) => () => {
      log.push(name);
      then?.();
    };
    run(mailbox, o, mail);
    expect(log).toEqual(expected);
    expect(mailbox.queued).toBe(0);
    expect(o.done).toBe(0);
  });

  it('fails the job naming the operator when a mail throws, and drops the mails after it', () => {
    const boom = new Error('boom');
    const { log, owner: o, mailbox } = logged((m, mail) => {
      m.execute(
        mail('first', () => {
          m.execute(() => {
            throw boom;
          }, "'Thrower'");
          m.execute(mail('after'), "'Other'");
        }),
        "'First'",
      );
      m.execute(mail('later'), "'Other'");
    });
    expect(log).toEqual(['first']);
    expect(o.failures).toEqual([{ error: boom, operator: "'Thrower'" }]);
    expect(mailbox.busy).toBe(false);
  });
});

describe("a job's tasks", () => {
  it('run a mail an operator sends from inside processElement after the chunk, in order, and its records flow on', async () => {
    const log: string[] = [];
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), parallelism: 1 });
    const out: string[] = [];
    env
      .fromElements(1, 2, 3)
      .transform<string>('Mailer', (ctx) => ({
        processElement(n: number) {
          log.push(`process ${n}`);
          ctx.task.execute(() => {
            log.push(`mail ${n}`);
            ctx.output.collect(`from mail ${n}`);
          }, ctx.description);
        },
      }))
      .addSink((v) => void out.push(v));
    await env.execute('mails');
    expect(log).toEqual(['process 1', 'process 2', 'process 3', 'mail 1', 'mail 2', 'mail 3']);
    expect(out).toEqual(['from mail 1', 'from mail 2', 'from mail 3']);
  });

  const lifecycleCalls = ['open', 'endInput'] as const;
  it.each(lifecycleCalls)('run %s() as task work: a mail it sends runs after it returns, and its records flow on', async (call) => {
    const log: string[] = [];
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), parallelism: 1 });
    const out: string[] = [];
    env
      .fromElements(1)
      .transform<string>('Mailer', (ctx) => ({
        processElement: () => undefined,
        [call]() {
          log.push(`${call} starts`);
          ctx.task.execute(() => {
            log.push('mail');
            ctx.output.collect(`from ${call}'s mail`);
          }, ctx.description);
          log.push(`${call} returns`);
        },
      }))
      .addSink((v) => void out.push(v));
    await env.execute('lifecycle mails');
    expect(log).toEqual([`${call} starts`, `${call} returns`, 'mail']);
    expect(out).toEqual([`from ${call}'s mail`]);
  });

  it.each(lifecycleCalls)('fail the job naming the operator when %s() throws, and drop the mails it queued', async (call) => {
    const log: string[] = [];
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), parallelism: 1 });
    env
      .fromElements(1)
      .transform<string>('Thrower', (ctx) => ({
        processElement: () => undefined,
        [call]() {
          ctx.task.execute(() => log.push('mail'), ctx.description);
          throw new Error(`${call} failed`);
        },
      }))
      .addSink(() => undefined);
    await expect(env.execute('throwing lifecycle')).rejects.toThrow(`Job 'throwing lifecycle' failed in operator 'Thrower': ${call} failed`);
    expect(log).toEqual([]);
  });

  it('fail the job naming the operator when a mail throws', async () => {
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0) });
    env
      .fromElements(1)
      .transform<number>('Thrower', (ctx) => ({
        processElement() {
          ctx.task.execute(() => {
            throw new Error('mail failed');
          }, ctx.description);
        },
      }))
      .addSink(() => undefined);
    await expect(env.execute('throwing mail')).rejects.toThrow("Job 'throwing mail' failed in operator 'Thrower': mail failed");
  });

  it('blame the operator that threw on what a mail emitted, not the one that sent the mail', async () => {
    const clock = new ManualClock(0);
    const gate = gatedSource(5);
    const env = StreamExecutionEnvironment.create({ clock });
    env
      .fromSource(gate.source, 'numbers')
      .keyBy((x) => x)
      .process<number>({
        processElement(x, ctx) {
          ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 10);
        },
        onTimer(_, ctx, out) {
          out.collect(ctx.currentKey);
        },
      })
      .name('timerFn')
      .map((x) => {
        if (x === 2) throw new Error('bad record 2');
        return x;
      })
      .name('validate')
      .addSink(() => undefined);
    const result = env.execute('timer mail');
    // The source stays open, so the timers fire as mails while it waits, not at end of input.
    gate.openUntil(3);
    await driveUntilDone(result, clock);
    await expect(result).rejects.toThrow("Job 'timer mail' failed in operator 'validate': bad record 2");
  });
});


describe('timers fire as mails', () => {
  /** An operator context whose task hooks are a mailbox, with a keyed timer service that logs its firings. */
  function context() {
    const o = owner();
    const mailbox = new Mailbox(o);
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const task: TaskHooks = {
      execute: (action, operator) => mailbox.execute(action, operator),
      fail: (error, operator) => o.mailFailed(error, operator),
      backpressure: () => undefined,
      signal: new AbortController().signal,
    };
    const ctx = createOperatorContext(
      {
        name: 'Timed',
        subtaskIndex: 0,
        parallelism: 1,
        clock,
        metrics: new MetricRegistry().group(),
        output: { collect: () => undefined, collectSide: () => undefined },
        task,
        keyed: { selector: (v) => v as string, backend: new HeapKeyedStateBackend() },
      },
      (timestamp, key) => {
        fired.push(`keyed ${String(key)}@${timestamp}`);
        if (key === 'throw') throw new Error('keyed timer failed');
      },
    );
    return { o, mailbox, clock, ctx, fired };
  }
  const kinds = [
    {
      kind: 'processing-time timer',
      register: (c: ReturnType<typeof context>, name: string) =>
        c.ctx.processingTimeService.registerTimer(10, (t) => {
          c.fired.push(`${name}@${t}`);
          if (name === 'throw') throw new Error('timer failed');
        }),
      firing: (name: string) => `${name}@10`,
    },
    {
      kind: 'keyed timer',
      register: (c: ReturnType<typeof context>, name: string) => c.ctx.keyed?.timers.register(name, 10),
      firing: (name: string) => `keyed ${name}@10`,
    },
  ];

  it.each(kinds)('a $kind runs through the mailbox: it flushes after, and runs after the action running when it fires', async ({ register, firing }) => {
    const c = context();
    register(c, 'a');
    await c.clock.setTime(10);
    expect(c.fired).toEqual([firing('a')]);
    expect(c.o.done).toBe(1);

    // A timer whose clock callback comes while an action runs waits for it.
    register(c, 'b');
    c.mailbox.enter();
    c.fired.push('records');
    await c.clock.setTime(10); // the timer is due: its mail is queued behind the running records
    expect(c.fired).toEqual([firing('a'), 'records']);
    c.mailbox.leave();
    expect(c.fired).toEqual([firing('a'), 'records', firing('b')]);
  });

  it.each(kinds)('a $kind is dropped once the task ended, and one that throws fails the job naming the operator', async ({ register }) => {
    const closed = context();
    register(closed, 'a');
    closed.o.mailboxClosed = true;
    await closed.clock.setTime(10);
    expect(closed.fired).toEqual([]);

    const failing = context();
    register(failing, 'throw');
    await failing.clock.setTime(10);
    expect(failing.o.failures.map((f) => [(f.error as Error).message, f.operator])).toEqual([
      [expect.stringMatching(/timer failed/), "'Timed'"],
    ]);
  });
});

/** Keeps checkpoints in memory. */
function memoryStorage() {
  const stored: CompletedCheckpoint[] = [];
  const storage: CheckpointStorage = {
    store: (checkpoint) => {
      stored.push(checkpoint);
      return Promise.resolve({ location: `mem:${checkpoint.checkpointId}`, bytes: 1 });
    },
    highestCheckpointId: () => Promise.resolve(0),
    loadLatest: () => Promise.resolve(undefined),
    load: () => Promise.reject(new Error('not kept')),
  };
  return { storage, stored };
}

describe('checkpoint barriers and pending sink writes', () => {
  it('takes a barrier only once the write a timer mail started has finished: the record is in the snapshot', async () => {
    const clock = new ManualClock(0);
    const { storage, stored } = memoryStorage();
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(2);
    // Emits a record from a timer at 5, while the task waits for input.
    const later: KeyedProcessFunction<number, number, string> = {
      processElement(_n, ctx) {
        ctx.timerService.registerProcessingTimeTimer(5);
      },
      onTimer(timestamp, _ctx, out) {
        out.collect(`timer@${timestamp}`);
      },
    };
    // Each write takes 100 ms of processing time; the snapshot holds what was written.
    const written: string[] = [];
    const sink = {
      createWriter: (): SinkWriter<string> => ({
        write: (value) =>
          new Promise<void>((resolve) =>
            clock.schedule(clock.now() + 100, () => {
              written.push(value);
              resolve();
            }),
          ),
        snapshotState: () => [...written],
      }),
    };
    env.fromSource(gate.source, 'numbers').keyBy((n) => n).process(later).sinkTo(sink).uid('sink');
    const job = env.executeAsync('pending write');
    gate.openUntil(1);
    await clock.setTime(5); // the timer fires: its record's write runs until 105
    await clock.setTime(10); // checkpoint 1 is triggered while the write is pending
    await clock.setTime(105);
    await until(() => stored.some((c) => c.checkpointId === 1), 'checkpoint 1');
    gate.openUntil(2);
    await driveUntilDone(job.result, clock);
    await job.result;
    const first = stored.find((c) => c.checkpointId === 1);
    expect(first?.operators.sink?.subtasks[0]?.operatorState).toEqual(['timer@5']);
  });
});

describe('checkpoints while timer mails keep sink writes in flight', () => {
  /**
   * 40 records, each emitted by its own timer 3 ms after it arrived, into a
   * sink whose writes take `writeMs`; a checkpoint every 10 ms. At each
   * barrier the sink's snapshot says how many records it was handed and how
   * many it has written: a record handed but not written is lost by a
   * restore from that checkpoint.
   */
  async function run(writeMs: number) {
    const clock = new ManualClock(0);
    const { storage, stored } = memoryStorage();
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(10, { storage });
    const total = 40;
    // One more record ends the input once every timer has fired (timers pending at the end do not fire).
    const gate = gatedSource(total + 1);
    const emitLater: KeyedProcessFunction<number, number, number> = {
      processElement(_n, ctx) {
        ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 3);
      },
      onTimer(_timestamp, ctx, out) {
        out.collect(ctx.currentKey);
      },
    };
    let handed = 0;
    const written: number[] = [];
    const sink = {
      createWriter: (): SinkWriter<number> => ({
        write: (value) => {
          handed++;
          return new Promise<void>((resolve) =>
            clock.schedule(clock.now() + writeMs, () => {
              written.push(value);
              resolve();
            }),
          );
        },
        snapshotState: () => ({ handed, written: written.length }),
      }),
    };
    env.fromSource(gate.source, 'numbers').keyBy((n) => n).process(emitLater).sinkTo(sink).uid('sink');
    const job = env.executeAsync(`writes of ${writeMs} ms`);
    for (let n = 1; n <= total; n++) {
      gate.openUntil(n);
      await clock.advance(5);
    }
    // The sink writes one record at a time: the last timers' records wait for the writes before them.
    for (let step = 0; handed < total && step < 100_000; step++) await clock.advance(1);
    gate.openUntil(total + 1);
    await driveUntilDone(job.result, clock);
    await job.result;
    const periodic = stored.filter((c) => !c.final).map((c) => c.operators.sink?.subtasks[0]?.operatorState as { handed: number; written: number });
    return { checkpoints: periodic.length, lost: periodic.reduce((n, s) => n + s.handed - s.written, 0), written: written.length };
  }

  it.each([2, 7, 25])('loses no record at any checkpoint with writes of %i ms', async (writeMs) => {
    const { checkpoints, lost, written } = await run(writeMs);
    // A barrier waits for the writes queued before it: the slower the writes, the fewer checkpoints.
    expect(checkpoints).toBeGreaterThanOrEqual(3);
    expect(lost).toBe(0);
    expect(written).toBe(40);
  });
});
