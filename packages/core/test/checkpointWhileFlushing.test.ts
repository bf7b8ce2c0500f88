import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  StreamExecutionEnvironment,
  TwoPhaseCommitSink,
  type OneInputStreamOperator,
  type OperatorContext,
  type Source,
} from '../src/index.js';
import { gatedSource, until } from './support/gatedSource.js';
import { unevenSplits } from './support/unevenSplits.js';
import { CountAtEnd } from './support/countAtEnd.js';

/** Holds its records in list state and, at the end of its input, emits them once `released` lets it (a slow flush). */
function holdUntilReleased(released: Promise<void>) {
  return (ctx: OperatorContext<number>): OneInputStreamOperator<number> => {
    let held: number[] = [];
    return {
      initializeListState: (lists) => void (held = [...((lists.held ?? []) as number[])]),
      processElement: (value) => void held.push(value),
      snapshotListState: () => ({ held }),
      endInput: () =>
        released.then(
          () =>
            new Promise<void>((resolve) =>
              ctx.task.execute(() => {
                for (const value of held.splice(0)) ctx.output.collect(value);
                resolve();
              }, 'Hold'),
            ),
        ),
    };
  };
}

/**
 * A transactional sink in memory: a transaction is an id and its values, frozen when it is pre-committed (a write
 * that lands later is not in it, as in a real system); `gates` hold the write of a value until opened.
 */
function memorySink(gates: Map<number, Promise<void>>) {
  let next = 0;
  const done = new Set<number>();
  const prepared = new Map<number, number[]>();
  const committed: number[] = [];
  class Memory extends TwoPhaseCommitSink<number, { id: number; values: number[] }> {
    protected beginTransaction() {
      return { id: next++, values: [] };
    }
    protected write(txn: { values: number[] }, value: number): void | Promise<void> {
      const gate = gates.get(value);
      if (gate === undefined) return void txn.values.push(value);
      return gate.then(() => void txn.values.push(value));
    }
    protected preCommit(txn: { id: number; values: number[] }): Promise<void> {
      prepared.set(txn.id, [...txn.values]);
      return Promise.resolve();
    }
    // Committing a transaction twice (again from a restore) changes nothing, as a real sink's commit must.
    protected commit(txn: { id: number; values: number[] }): Promise<void> {
      if (!done.has(txn.id)) committed.push(...(prepared.get(txn.id) ?? txn.values));
      done.add(txn.id);
      return Promise.resolve();
    }
    protected abort(): Promise<void> {
      return Promise.resolve();
    }
    protected recover(): Promise<void> {
      return Promise.resolve();
    }
  }
  return { sink: new Memory(), committed };
}

/** A gate the test opens. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** An operator that holds its records and, at the end of its input, emits them when the test says, then ends when it says again. */
function heldInTwoSteps() {
  const steps = { emit: () => undefined as void, end: () => undefined as void };
  const factory = (ctx: OperatorContext<number>): OneInputStreamOperator<number> => {
    const held: number[] = [];
    return {
      processElement: (value) => void held.push(value),
      endInput: () =>
        new Promise<void>((resolve) => {
          steps.emit = () => ctx.task.execute(() => held.splice(0).forEach((v) => ctx.output.collect(v)), 'Hold');
          steps.end = resolve;
        }),
    };
  };
  return { factory, emitHeld: () => steps.emit(), endHold: () => steps.end() };
}

function job(clock: ManualClock, storage: string, released: Promise<void>, endless: ReturnType<typeof gatedSource>, received: number[]) {
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
  // One task: the collection, the count and the hold are chained.
  env
    .fromCollection(Array.from({ length: 10 }, (_, i) => 1_000 + i))
    .uid('bounded')
    .transform<number>('Count at end', (ctx) => new CountAtEnd(ctx))
    .uid('count')
    .transform<number>('Hold', holdUntilReleased(released))
    .uid('hold')
    .union(env.fromSource(endless.source, 'numbers').uid('numbers'))
    .addSink((n) => void received.push(n));
  return env;
}

describe('a checkpoint a task takes while it flushes', () => {
  it('marks the operators that ended their input finished: a restore runs only the rest of the end of input', async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const received: number[] = [];
    const env = job(clock, storage, new Promise(() => undefined), gatedSource(100), received);
    const run = env.executeAsync('flushing');
    const completed = () => (env.metrics.snapshot()['job.flushing.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    await until(() => run.tasks().some((t) => t.waitingOn === "endInput() of 'Hold' (uid 'hold')"), 'the hold to flush');
    // The count ended its input (its -10 is held), the hold has not: the task is triggered and takes checkpoint 1.
    await clock.advance(10);
    await until(() => completed() === 1, 'checkpoint 1');
    run.cancel();
    await run.result;
    expect(received).toEqual([]);

    const endless = gatedSource(100);
    endless.openUntil(100);
    const env2 = job(clock, storage, Promise.resolve(), endless, received);
    await env2.execute('flushing', { restoreFrom: 'latest' });
    // The held records once, and one count: the count's end of input is not run again.
    expect(received.filter((n) => n < 0 || n >= 1_000).sort((a, b) => a - b)).toEqual([-10, ...Array.from({ length: 10 }, (_, i) => 1_000 + i)]);
  });

  it.each([1, 3])(
    'keeps nothing of an operator that ended its input: restored at parallelism %i, the count of a flushing subtask is not counted again',
    async (parallelism) => {
      const clock = new ManualClock(0);
      const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
      const received: number[] = [];
      const build = (env: StreamExecutionEnvironment, source: Source<number, unknown>, released: Promise<void>) =>
        env
          .fromSource(source, 'splits')
          .uid('splits')
          .transform<number>('Count at end', (ctx) => new CountAtEnd(ctx))
          .uid('count')
          .transform<number>('Hold', holdUntilReleased(released))
          .uid('hold')
          .addSink((n) => void received.push(n));
      // Subtask 0 reads its 20 and flushes, held; subtask 1 has read 50 of its 100 and waits for more.
      const first = unevenSplits();
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 }).enableCheckpointing(10, { storage });
      build(env, first.source, new Promise(() => undefined));
      first.openUntil(150);
      const run = env.executeAsync('rescale');
      const completed = () => (env.metrics.snapshot()['job.rescale.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
      await until(() => run.tasks().some((t) => t.waitingOn === "endInput() of 'Hold' (uid 'hold')"), "subtask 0's flush");
      await clock.advance(10);
      await until(() => completed() === 1, 'checkpoint 1');
      run.cancel();
      await run.result;

      const second = unevenSplits();
      second.openUntil(200);
      const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism }).enableCheckpointing(10, { storage });
      build(env2, second.source, Promise.resolve());
      await env2.execute('rescale', { restoreFrom: 'latest' });
      // Every record once, and the counts together 120: subtask 0's 20 (held by the hold) once, the other 100 after the restore.
      expect(received.filter((n) => n >= 0).sort((a, b) => a - b)).toEqual([...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 100 + i)]);
      expect(received.filter((n) => n < 0).reduce((a, b) => a + b, 0)).toBe(-120);
    },
  );

  it('waits for a write still pending before its barrier, and the end of input waits for the checkpoint: the commits hold every record', async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const write = gate();
    const { sink, committed } = memorySink(new Map([[1, write.opened]]));
    const { factory: hold, emitHeld, endHold } = heldInTwoSteps();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    env.fromCollection([1, 2, 3, 4, 5]).uid('bounded').transform<number>('Hold', hold).uid('hold').sinkTo(sink).uid('sink');
    const endless = gatedSource(100);
    env.fromSource(endless.source, 'numbers').uid('numbers').addSink(() => undefined);
    const run = env.executeAsync('pending write');
    await until(() => run.tasks().some((t) => t.waitingOn === "endInput() of 'Hold' (uid 'hold')"), 'the hold to flush');
    emitHeld();
    // The write of 1 is pending; checkpoint 1 triggers the flushing task, which waits for it before its barrier.
    await clock.advance(10);
    const waitsForWrite = () => run.tasks().some((t) => t.waitingOn?.startsWith('backpressure') === true);
    await until(waitsForWrite, 'the checkpoint waiting for the write');
    // The hold ends its input: the end of input goes on to the sink, which must wait for that write too.
    endHold();
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(waitsForWrite()).toBe(true);
    write.open();
    await until(() => committed.length === 5, 'the commit of all five');
    expect([...committed].sort()).toEqual([1, 2, 3, 4, 5]);
    endless.openUntil(100);
    await until(() => run.status !== 'running', 'the job to end');
    expect((await run.result).status).toBe('finished');
    expect([...committed].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it("takes a checkpoint between the flushing operator's steps: the write the next operator's end of input makes is in the commit", async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const last = gate();
    const count = gate();
    const { sink, committed } = memorySink(new Map([[30, last.opened], [-3, count.opened]]));
    const { factory: hold, emitHeld, endHold } = heldInTwoSteps();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    env
      .fromCollection([10, 20, 30])
      .uid('bounded')
      .transform<number>('Hold', hold)
      .uid('hold')
      .transform<number>('Count at end', (ctx) => new CountAtEnd(ctx))
      .uid('count')
      .sinkTo(sink)
      .uid('sink');
    const endless = gatedSource(100);
    env.fromSource(endless.source, 'numbers').uid('numbers').addSink(() => undefined);
    const run = env.executeAsync('steps');
    await until(() => run.tasks().some((t) => t.waitingOn === "endInput() of 'Hold' (uid 'hold')"), 'the hold to flush');
    // The hold emits and ends; the end of input waits for the write of 30 before the count's end of input.
    emitHeld();
    endHold();
    const waitsForWrite = () => run.tasks().some((t) => t.waitingOn?.startsWith('backpressure') === true);
    await until(waitsForWrite, 'the end of input waiting for the write of 30');
    // Checkpoint 1 is asked for now: it is taken in the count's step, after its -3, never beside the end of input.
    await clock.advance(10);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    last.open();
    await until(waitsForWrite, 'the write of -3');
    count.open();
    endless.openUntil(100);
    await until(() => run.status !== 'running', 'the job to end');
    expect((await run.result).status).toBe('finished');
    expect([...committed].sort((a, b) => a - b)).toEqual([-3, 10, 20, 30]);
  });

  it('keeps the state of a sink that ended its input while an operator after it in the chain flushes: a restore commits it', async () => {
    const clock = new ManualClock(0);
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const { sink, committed } = memorySink(new Map());
    const build = (env: StreamExecutionEnvironment, released: Promise<void>, endless: ReturnType<typeof gatedSource>) => {
      const bounded = env.fromCollection([1, 2, 3, 4, 5]).uid('bounded');
      // One task: the sink comes before the hold in the chain, and ends its input first.
      bounded.sinkTo(sink).uid('sink');
      bounded.transform<number>('Hold', holdUntilReleased(released)).uid('hold').addSink(() => undefined);
      env.fromSource(endless.source, 'numbers').uid('numbers').addSink(() => undefined);
    };
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    build(env, new Promise(() => undefined), gatedSource(100));
    const run = env.executeAsync('sink first');
    const completed = () => (env.metrics.snapshot()['job.sink first.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    await until(() => run.tasks().some((t) => t.waitingOn === "endInput() of 'Hold' (uid 'hold')"), 'the hold to flush');
    await clock.advance(10);
    await until(() => completed() === 1, 'checkpoint 1');
    run.cancel();
    await run.result;

    const endless = gatedSource(100);
    endless.openUntil(100);
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    build(env2, Promise.resolve(), endless);
    await env2.execute('sink first', { restoreFrom: 'latest' });
    expect([...committed].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  });
});
