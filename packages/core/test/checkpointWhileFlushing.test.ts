import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, StreamExecutionEnvironment, type OneInputStreamOperator, type OperatorContext, type OperatorListState } from '../src/index.js';
import { gatedSource, until } from './support/gatedSource.js';

/** Passes its records on, counting them in list state, and emits -count at the end of its input. */
class CountAtEnd implements OneInputStreamOperator<number> {
  private count = 0;
  constructor(private readonly ctx: OperatorContext<number>) {}
  initializeListState(lists: OperatorListState): void {
    this.count = ((lists.count ?? []) as number[]).reduce((a, b) => a + b, 0);
  }
  processElement(value: number): void {
    this.count++;
    this.ctx.output.collect(value);
  }
  snapshotListState(): OperatorListState {
    return { count: [this.count] };
  }
  endInput(): void {
    this.ctx.output.collect(-this.count);
  }
}

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
});
