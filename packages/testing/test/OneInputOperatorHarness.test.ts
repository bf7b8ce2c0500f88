import { InvalidJobError, OutputTag, StreamExecutionEnvironment, type OneInputStreamOperator, type OperatorContext, type OperatorFactory } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { collect, FakeBatchService, ManualClock, OneInputOperatorHarness, runJobToCompletion } from '../src/index.js';
import { miniBatch } from './fixtures/MiniBatchOperator.js';

const odd = new OutputTag<number>('odd');

function doubler() {
  return OneInputOperatorHarness.forProcessFunction<number, number>({
    processElement(n, ctx, out) {
      if (n < 0) throw new RangeError(`negative: ${n}`);
      if (n % 2 === 1) ctx.output(odd, n);
      out.collect(n * 2);
    },
  });
}

function batchingHarness(options: { maxInFlight?: number; concurrency?: number; failCalls?: number[] } = {}) {
  const clock = new ManualClock(0);
  const service = new FakeBatchService<number, string>({
    clock,
    handler: (xs) => xs.map((x) => `r${x}`),
    latency: { baseMs: 10, perItemMs: 1 },
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.failCalls === undefined ? {} : { failCalls: options.failCalls }),
  });
  const harness = new OneInputOperatorHarness(
    miniBatch<number, string>({
      call: (inputs, signal) => service.call(inputs, { signal }),
      maxBatchSize: 3,
      maxDelayMs: 50,
      maxInFlight: options.maxInFlight ?? 10,
    }),
    { clock, name: 'MiniBatch', uid: 'mini' },
  );
  return { clock, service, harness };
}

describe('OneInputOperatorHarness', () => {
  it('runs a process function: main output, side output and record counts', async () => {
    const harness = doubler();
    await harness.open();
    harness.processElements([1, 2, 3]);
    expect(harness.getOutput()).toEqual([2, 4, 6]);
    expect(harness.getSideOutput(odd)).toEqual([1, 3]);
    expect(harness.metrics.snapshot()).toMatchObject({ numRecordsIn: 3, numRecordsOut: 3 });
    harness.clearOutput();
    expect(harness.getOutput()).toEqual([]);
    expect(harness.getSideOutput(odd)).toEqual([1, 3]);
  });

  it('rethrows a synchronous exception and records it as the failure', async () => {
    const harness = doubler();
    await harness.open();
    expect(() => harness.processElement(-1)).toThrow(RangeError);
    expect(harness.failure).toBeInstanceOf(RangeError);
    expect(harness.signal.aborted).toBe(true);
  });

  it('insists on open() first and no records after end of input', async () => {
    const harness = doubler();
    expect(() => harness.processElement(1)).toThrow(/before open\(\)/);
    await harness.open();
    await expect(harness.open()).rejects.toThrow(/only be called once/);
    await harness.endInput();
    expect(() => harness.processElement(1)).toThrow(/after end of input/);
  });

  it('emits the results of promise work only when the test lets it settle', async () => {
    const { harness, service } = batchingHarness();
    await harness.open();
    harness.processElements([1, 2, 3]);
    expect(service.calls).toHaveLength(1);
    await harness.drain();
    expect(harness.getOutput()).toEqual([]); // the call takes 13 ms
    await harness.setProcessingTime(13);
    expect(harness.getOutput()).toEqual(['r1', 'r2', 'r3']);
    expect(harness.getTimedOutput()).toEqual([
      { time: 13, value: 'r1' },
      { time: 13, value: 'r2' },
      { time: 13, value: 'r3' },
    ]);
  });

  it('counts operator timers in numProcessingTimeTimers and fires them with setProcessingTime', async () => {
    const { harness, service } = batchingHarness();
    await harness.open();
    harness.processElement(1);
    expect(harness.numProcessingTimeTimers()).toBe(1);
    await harness.setProcessingTime(49);
    expect(service.calls).toHaveLength(0);
    await harness.setProcessingTime(50);
    expect(harness.numProcessingTimeTimers()).toBe(0);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([50]);
  });

  it("drops the operator's own timers not yet due at the end of input, as a job does (they never fire)", async () => {
    const flushed: number[][] = [];
    /** Buffers records and flushes them on a timer, and forgets to flush at the end of input. */
    class Forgetful implements OneInputStreamOperator<number> {
      private held: number[] = [];
      constructor(private readonly ctx: OperatorContext<number>) {}
      processElement(value: number): void {
        if (this.held.length === 0) this.ctx.processingTimeService.registerTimer(this.ctx.processingTimeService.currentProcessingTime() + 50, () => flushed.push(this.held.splice(0)));
        this.held.push(value);
      }
    }
    const harness = new OneInputOperatorHarness<number, number>((ctx) => new Forgetful(ctx), { clock: new ManualClock(0) });
    await harness.open();
    harness.processElements([1, 2, 3]);
    await harness.endInput();
    expect(harness.numProcessingTimeTimers()).toBe(0);
    await harness.setProcessingTime(1_000);
    expect(flushed).toEqual([]);
  });

  it('endInput drives the clock through pending timers until the operator has finished', async () => {
    const { harness, service, clock } = batchingHarness({ concurrency: 1 });
    await harness.open();
    harness.processElements([1, 2, 3, 4, 5, 6, 7]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
    expect(service.batchSizes()).toEqual([3, 3, 1]);
    // Served one at a time: 13 + 13 + 11 ms.
    expect(clock.now()).toBe(37);
    expect(harness.failure).toBeUndefined();
  });

  it('endInput reports an operator that never finishes instead of hanging', async () => {
    const stuck: OperatorFactory<number, number> = () => ({
      processElement() {},
      endInput: () => new Promise<void>(() => {}),
    });
    const harness = new OneInputOperatorHarness(stuck, { name: 'Stuck' });
    await harness.open();
    await expect(harness.endInput()).rejects.toThrow(/operator 'Stuck' never finished end of input/);
  });

  it('endInput gives up after maxSteps on an operator that re-arms a timer forever', async () => {
    const ticking: OperatorFactory<number, number> = (ctx) => {
      const tick = (): void => {
        ctx.processingTimeService.registerTimer(ctx.clock.now() + 1, tick);
      };
      return { processElement() {}, open: tick, endInput: () => new Promise<void>(() => {}) };
    };
    const harness = new OneInputOperatorHarness(ticking, { maxSteps: 20 });
    await harness.open();
    await expect(harness.endInput()).rejects.toThrow(/after 20 clock steps/);
  });

  it('endInput rejects with the error the operator rejects with', async () => {
    const failing: OperatorFactory<number, number> = () => ({
      processElement() {},
      endInput: () => Promise.reject(new Error('flush failed')),
    });
    const harness = new OneInputOperatorHarness(failing);
    await harness.open();
    await expect(harness.endInput()).rejects.toThrow('flush failed');
    expect((harness.failure as Error).message).toBe('flush failed');
  });

  it("endInput waits until the operator is no longer backpressured before calling its endInput(), as a job does", async () => {
    // Holds its input back until t=100, and says when its endInput() was called.
    const gate: OperatorFactory<number, number> = (ctx) => ({
      processElement() {
        ctx.task.backpressure(new Promise<void>((resolve) => ctx.processingTimeService.registerTimer(100, () => resolve())));
      },
      endInput() {
        ctx.output.collect(ctx.clock.now());
      },
    });
    const harness = new OneInputOperatorHarness(gate);
    await harness.open();
    harness.processElement(1);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([100]);

    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    const out = collect(env.fromElements(1).transform('Gate', gate));
    await runJobToCompletion(env.executeAsync('backpressure at end of input'), clock);
    expect(out).toEqual(harness.getOutput());
  });

  it('records a failure reported through task.fail and aborts the task signal', async () => {
    const { harness, service } = batchingHarness({ failCalls: [1] });
    await harness.open();
    harness.processElements([1, 2, 3, 4, 5, 6]);
    await harness.setProcessingTime(100);
    expect(harness.failure).toMatchObject({ name: 'FakeServiceError', callId: 1 });
    expect(harness.signal.aborted).toBe(true);
    // Call 2 was due at the same time, after call 1: the aborted signal cancelled it.
    expect(service.calls.map((c) => c.outcome)).toEqual(['error', 'aborted']);
    expect(harness.getOutput()).toEqual([]);
  });

  it('runs no task work after a failure, as a failed job runs none', async () => {
    const ran: number[] = [];
    const failing: OperatorFactory<number, number> = (ctx) => ({
      processElement(n) {
        ctx.processingTimeService.registerTimer(n, () => ran.push(n));
        if (n === 5) ctx.task.fail(new Error('five'), ctx.description);
      },
    });
    const harness = new OneInputOperatorHarness(failing);
    await harness.open();
    harness.processElements([1, 5]);
    await harness.clock.setTime(20);
    expect((harness.failure as Error).message).toBe('five');
    expect(ran).toEqual([]);
  });

  it('refuses every later call once the task failed, naming the failure, as a failed task takes no more work', async () => {
    const failing: OperatorFactory<number, number> = (ctx) => ({
      processElement(n) {
        ctx.output.collect(n);
        if (n === 5) ctx.processingTimeService.registerTimer(10, () => ctx.task.fail(new Error('five'), ctx.description));
      },
    });
    const harness = new OneInputOperatorHarness(failing);
    await harness.open();
    harness.processElement(5);
    await harness.setProcessingTime(10); // the failure happens here and is recorded
    expect((harness.failure as Error).message).toBe('five');

    const refused = /after the task failed \(see harness.failure\): five/;
    expect(() => harness.processElement(6)).toThrow(refused);
    expect(() => harness.processChunk([6])).toThrow(refused);
    expect(() => harness.snapshot()).toThrow(refused);
    await expect(harness.feed([6])).rejects.toThrow(refused);
    await expect(harness.setProcessingTime(20)).rejects.toThrow(/^setProcessingTime\(\) after the task failed/);
    await expect(harness.drain()).rejects.toThrow(refused);
    await expect(harness.endInput()).rejects.toThrow(/^endInput\(\) after the task failed/);
    await expect(harness.notifyCheckpointComplete(1)).rejects.toThrow(refused);
    expect(harness.getOutput()).toEqual([5]);
    await harness.close(); // a failed task is still closed
  });

  it('endInput and feed reject with the failure when the task fails while they wait', async () => {
    const failing: OperatorFactory<number, number> = (ctx) => ({
      processElement(n) {
        // Held back until a timer at 50, which fails the task.
        ctx.task.backpressure(
          new Promise<void>((resolve) =>
            ctx.processingTimeService.registerTimer(50, () => {
              ctx.task.fail(new Error(`failed after ${n}`), ctx.description);
              resolve();
            }),
          ),
        );
      },
      endInput: () => new Promise<void>((resolve) => ctx.processingTimeService.registerTimer(100, () => resolve())),
    });
    const fed = new OneInputOperatorHarness(failing);
    await fed.open();
    await expect(fed.feed([1, 2])).rejects.toThrow('failed after 1');

    const ended = new OneInputOperatorHarness(failing);
    await ended.open();
    ended.processElement(1);
    await expect(ended.endInput()).rejects.toThrow('failed after 1');
    expect((ended.failure as Error).message).toBe('failed after 1');
  });

  it('is backpressured while a promise given to task.backpressure is pending', async () => {
    const { harness, service } = batchingHarness({ maxInFlight: 2 });
    await harness.open();
    harness.processElements([1, 2, 3]);
    expect(harness.backpressured).toBe(false);
    harness.processElements([4, 5, 6]);
    expect(harness.backpressured).toBe(true);
    await harness.drain();
    expect(harness.backpressured).toBe(true);
    await harness.setProcessingTime(13);
    expect(harness.backpressured).toBe(false);
    expect(service.inFlight).toBe(0);
  });

  it('feed() waits for backpressure to clear before each record, as a task does', async () => {
    const { harness, service } = batchingHarness({ maxInFlight: 1 });
    await harness.open();
    await harness.feed([1, 2, 3, 4, 5, 6, 7]);
    await harness.endInput();
    expect(service.calls.map((c) => [c.queuedAt, c.inputs.length])).toEqual([
      [0, 3],
      [13, 3],
      [26, 1],
    ]);
    expect(service.maxConcurrency).toBe(1);
  });

  it('records a backpressure promise that rejects as a broken contract', async () => {
    const rude: OperatorFactory<number, number> = (ctx) => ({
      processElement() {
        ctx.task.backpressure(Promise.reject(new Error('nope')));
      },
    });
    const harness = new OneInputOperatorHarness(rude, { name: 'Rude' });
    await harness.open();
    harness.processElement(1);
    await harness.drain();
    expect(String(harness.failure)).toMatch(/operator 'Rude' passed task.backpressure\(\) a promise that rejected/);
  });

  it('cancel() aborts the task signal, which aborts in-flight calls', async () => {
    const { harness, service } = batchingHarness();
    await harness.open();
    harness.processElements([1, 2, 3]);
    harness.cancel();
    await harness.drain();
    expect(harness.signal.aborted).toBe(true);
    expect(service.calls[0]?.outcome).toBe('aborted');
  });

  it('snapshots operator state as a copy and restores it into a new harness', async () => {
    const first = batchingHarness();
    await first.harness.open();
    first.harness.processElements([1, 2]);
    const snapshot = first.harness.snapshot();
    first.harness.processElement(3); // mutates the live buffer, not the snapshot
    expect(snapshot).toEqual({ operatorState: [1, 2] });

    const second = batchingHarness();
    second.harness.initializeState(snapshot);
    await second.harness.open();
    await second.harness.endInput();
    expect(second.harness.getOutput()).toEqual(['r1', 'r2']);
  });

  it('restores list state: a share, and the union of every old subtask for a restore at another parallelism', () => {
    const seen: unknown[] = [];
    const factory: OperatorFactory<number, number> = () =>
      ({ processElement() {}, initializeListState: (lists, union) => void seen.push([lists, union]) }) satisfies OneInputStreamOperator<number>;
    new OneInputOperatorHarness(factory).initializeState({ listState: { a: [1] } }, { a: [1, 2] });
    new OneInputOperatorHarness(factory).initializeState({ listState: { a: [3] } });
    expect(seen).toEqual([
      [{ a: [1] }, { a: [1, 2] }],
      [{ a: [3] }, { a: [3] }],
    ]);
  });

  it('refuses a restore from something that is no snapshot, naming initializeState()', () => {
    const harness = doubler();
    for (const [snapshot, got] of [[null, 'null'], [undefined, 'undefined'], ['{}', "'{}'"], [[], 'an array']] as const) {
      const restore = (): void => harness.initializeState(snapshot as never);
      expect(restore).toThrow(InvalidJobError);
      expect(restore).toThrow(`initializeState(): needs an OperatorSnapshot (what harness.snapshot() returns) as its first argument, got ${got}`);
    }
    expect(() => harness.initializeState({}, 5 as never)).toThrow(
      new InvalidJobError('initializeState(): the union must be list state (lists by name, as redistributeListState makes them), got 5'),
    );
  });

  it('refuses keyed snapshots, late restores and operator state a checkpoint could not store', async () => {
    const harness = doubler();
    expect(() => harness.initializeState({ keyedState: { states: {} } })).toThrow(/holds keyed state/);
    await harness.open();
    expect(() => harness.initializeState({})).toThrow(/before open\(\)/);

    const withFunction: OperatorFactory<number, number> = () =>
      ({ processElement() {}, snapshotState: () => ({ callback: () => 1 }) }) satisfies OneInputStreamOperator<number>;
    expect(() => new OneInputOperatorHarness(withFunction).snapshot()).toThrow(/cannot store/);
  });

  it('validates its options', () => {
    expect(() => new OneInputOperatorHarness(() => ({ processElement() {} }), { parallelism: 2, subtaskIndex: 2 })).toThrow(/subtaskIndex/);
    expect(() => new OneInputOperatorHarness(() => ({ processElement() {} }), { parallelism: 0 })).toThrow(/parallelism/);
  });

  it('numbers the checkpoints of a restored harness after the one it restored from, as a restored job does', async () => {
    const ids: number[] = [];
    const tracking: OperatorFactory<number, number> = () => ({
      processElement() {},
      snapshotState(checkpointId) {
        ids.push(checkpointId);
        return checkpointId;
      },
    });
    const before = new OneInputOperatorHarness(tracking);
    await before.open();
    before.snapshot();
    const second = before.snapshot();
    const after = new OneInputOperatorHarness(tracking);
    after.initializeState(second);
    await after.open();
    after.snapshot();
    await after.snapshotAsync();
    expect(ids).toEqual([1, 2, 3, 4]);
  });

  it('refuses to restore operator state at another parallelism than it was taken at, as a job refuses', async () => {
    const stateful: OperatorFactory<number, number> = () => ({
      processElement() {},
      snapshotState: () => ({ offset: 7 }),
    });
    const before = new OneInputOperatorHarness(stateful);
    await before.open();
    const snapshot = before.snapshot();
    const wider = new OneInputOperatorHarness(stateful, { parallelism: 2, subtaskIndex: 1, name: 'Stateful' });
    expect(() => wider.initializeState(snapshot)).toThrow(
      /the snapshot of operator 'Stateful' was taken at parallelism 1 and this harness has 2; its operator state .* cannot be re-split/,
    );
    // The same parallelism restores it.
    new OneInputOperatorHarness(stateful).initializeState(snapshot);
  });

  it('gives the operator the subtask, parallelism, name and uid it was asked for', () => {
    const harness = new OneInputOperatorHarness(() => ({ processElement() {} }), { name: 'Embed', uid: 'embed', subtaskIndex: 1, parallelism: 3 });
    expect(harness.context).toMatchObject({ subtaskIndex: 1, parallelism: 3, description: "'Embed' (uid 'embed')" });
  });
});

describe('the harness mailbox', () => {
  /** An operator that logs its work and sends a mail from inside each call the harness makes. */
  function mailing(log: string[]): OperatorFactory<number, number> {
    return (ctx) => {
      const send = (what: string) => {
        ctx.task.execute(() => {
          log.push(`mail from ${what}`);
          ctx.output.collect(-1);
        }, ctx.description);
        log.push(`${what} returns`);
      };
      return {
        open: () => send('open'),
        processElement: () => send('processElement'),
        processChunk: () => send('processChunk'),
        snapshotState: () => {
          send('snapshotState');
          return null;
        },
        endInput: () => send('endInput'),
        notifyCheckpointComplete: () => send('notifyCheckpointComplete'),
      };
    };
  }
  const calls: { call: string; run: (h: OneInputOperatorHarness<number, number>) => unknown }[] = [
    { call: 'open', run: (h) => h.open() },
    { call: 'processElement', run: (h) => h.processElement(1) },
    { call: 'processChunk', run: (h) => h.processChunk([1, 2]) },
    { call: 'snapshotState', run: (h) => h.snapshot() },
    { call: 'endInput', run: (h) => h.endInput() },
    { call: 'notifyCheckpointComplete', run: (h) => h.notifyCheckpointComplete(1) },
  ];
  it.each(calls)('runs a mail sent from inside $call after it returns, as the runtime does', async ({ call, run }) => {
    const log: string[] = [];
    const harness = new OneInputOperatorHarness(mailing(log));
    if (call !== 'open') {
      await harness.open();
      log.length = 0;
      harness.clearOutput();
    }
    await run(harness);
    expect(log).toEqual([`${call} returns`, `mail from ${call}`]);
    expect(harness.getOutput()).toEqual([-1]);
  });

  it('runs a mail sent from a settled promise at once when drain() turns the event loop, and drops mails once closed', async () => {
    const log: string[] = [];
    let resolve: () => void = () => undefined;
    const later: OperatorFactory<number, number> = (ctx) => ({
      processElement(n) {
        void new Promise<void>((r) => (resolve = r)).then(() => ctx.task.execute(() => log.push(`done ${n}`), ctx.description));
      },
    });
    const harness = new OneInputOperatorHarness(later);
    await harness.open();
    harness.processElement(1);
    resolve();
    expect(log).toEqual([]);
    await harness.drain();
    expect(log).toEqual(['done 1']);
    harness.processElement(2);
    await harness.close();
    resolve();
    await harness.drain();
    expect(log).toEqual(['done 1']);
  });
});
