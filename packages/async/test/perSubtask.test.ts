import { describe, expect, it } from 'vitest';
import { perSubtask, silentLogger, StreamExecutionEnvironment, type RuntimeContext } from '@tributary/core';
import { ManualClock, runJobToCompletion, collect } from '@tributary/testing';
import { AsyncDataStream, type AsyncBatchFunction, type AsyncFunction, type ResultFuture } from '../src/index.js';
import { range } from './helpers.js';

/** What one instance went through. */
interface Life {
  subtask: number | undefined;
  opens: number;
  closes: number;
  calls: number;
}

/** A batch function holding a per-subtask "client" that open() creates and close() releases. */
class Doubler implements AsyncBatchFunction<number, number>, AsyncFunction<number, number> {
  private readonly life: Life = { subtask: undefined, opens: 0, closes: 0, calls: 0 };
  private client: { closed: boolean } | undefined;

  constructor(lives: Life[]) {
    lives.push(this.life);
  }

  open(ctx: RuntimeContext): void {
    this.life.subtask = ctx.subtaskIndex;
    this.life.opens++;
    this.client = { closed: false };
  }

  asyncInvokeBatch(inputs: readonly number[], resultFuture: ResultFuture<number>): void {
    this.call(inputs, resultFuture);
  }

  asyncInvoke(input: number, resultFuture: ResultFuture<number>): void {
    this.call([input], resultFuture);
  }

  close(): void {
    this.life.closes++;
    if (this.client !== undefined) this.client.closed = true;
  }

  private call(inputs: readonly number[], resultFuture: ResultFuture<number>): void {
    // A client shared between subtasks would be closed by the first subtask to end.
    if (this.client === undefined || this.client.closed) throw new Error('client not open');
    this.life.calls++;
    resultFuture.complete(inputs.map((n) => n * 2));
  }
}

describe('perSubtask factories in the async operators', () => {
  it.each([
    ['unorderedWaitBatch', (lives: Life[], env: StreamExecutionEnvironment) =>
      AsyncDataStream.unorderedWaitBatch(env.fromCollection(range(1, 90)).rebalance(), perSubtask(() => new Doubler(lives)), { maxBatchSize: 4 })],
    ['unorderedWait', (lives: Life[], env: StreamExecutionEnvironment) =>
      AsyncDataStream.unorderedWait(env.fromCollection(range(1, 90)).rebalance(), perSubtask(() => new Doubler(lives)))],
  ] as const)('%s: one instance per subtask (parallelism 3), each opened and closed once', async (_name, build) => {
    const clock = new ManualClock(0);
    const lives: Life[] = [];
    const env = StreamExecutionEnvironment.create({ clock, parallelism: 3, runtime: 'single-thread', logger: silentLogger });
    const out = collect(build(lives, env));
    expect((await runJobToCompletion(env.executeAsync('factories'), clock)).status).toBe('finished');
    expect([...out].sort((a, b) => a - b)).toEqual(range(1, 90).map((n) => n * 2));
    expect(lives.map((l) => l.subtask).sort()).toEqual([0, 1, 2]);
    expect(lives.every((l) => l.opens === 1 && l.closes === 1 && l.calls > 0)).toBe(true);
  });

  it('fails the job naming the operator when the factory returns something without asyncInvokeBatch', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, logger: silentLogger });
    collect(AsyncDataStream.unorderedWaitBatch(env.fromElements(1), perSubtask(() => ({ invoke: () => [] }) as never), { maxBatchSize: 1 }).name('embed'));
    await expect(runJobToCompletion(env.executeAsync('bad factory'), clock)).rejects.toThrow(
      /'embed'.*the perSubtask\(\) factory must return a function or an object with asyncInvokeBatch\(\)/,
    );
  });
});
