import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type ValueState,
} from '../src/index.js';

/** A source the test feeds by hand and ends when it wants: keeps the job alive while time passes. */
function controlledSource<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* iterate(): AsyncGenerator<T> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  return {
    iterable: { [Symbol.asyncIterator]: iterate },
    push(...values: T[]) {
      queue.push(...values);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}

/** Counts clicks per user and reports the count 10 ms after the user's first click of a window. */
class ClickWindow implements KeyedProcessFunction<string, string, string> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext) {
    this.count = ctx.getState(new ValueStateDescriptor('count', 0));
  }
  processElement(user: string, ctx: KeyedProcessContext<string>, _out: Collector<string>) {
    const now = ctx.timerService.currentProcessingTime();
    // Registering the same (key, timestamp) many times must still fire once.
    ctx.timerService.registerProcessingTimeTimer(Math.floor(now / 10) * 10 + 10);
    this.count.update(this.count.value()! + 1);
  }
  onTimer(ts: number, ctx: KeyedProcessContext<string>, out: Collector<string>) {
    out.collect(`${ctx.currentKey}@${ts}=${this.count.value()}`);
    this.count.clear();
  }
}

describe('processing-time timers', () => {
  it.each([1, 2])('fire once per (key, timestamp), in time order, with their key in scope (parallelism %i)', async (parallelism) => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism });
    const input = controlledSource<string>();
    const out: string[] = [];
    env.fromAsyncIterable(input.iterable).keyBy((u) => u).process(new ClickWindow()).addSink((v) => void out.push(v));
    const job = env.executeAsync('clicks');

    input.push('ann', 'bob', 'ann', 'ann');
    await clock.advance(3);
    input.push('bob');
    await clock.advance(6); // t=9: nothing due yet
    expect(out).toEqual([]);
    await clock.advance(1); // t=10
    expect([...out].sort()).toEqual(['ann@10=3', 'bob@10=2']);

    input.push('cid');
    await clock.advance(5);
    input.push('ann');
    await clock.advance(15); // t=30: the timers at 20 fired once each
    expect(out.slice(2).sort()).toEqual(['ann@20=1', 'cid@20=1']);

    input.end();
    const result = await job.result;
    expect(result.status).toBe('finished');
    expect(out).toHaveLength(4);
  });

  it('lets a timer be deleted and reports the current key in onTimer', async () => {
    const clock = new ManualClock(100);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    const input = controlledSource<[string, 'start' | 'cancel']>();
    const fired: string[] = [];
    env
      .fromAsyncIterable(input.iterable)
      .keyBy(([k]) => k)
      .process<string>({
        processElement([, action], ctx) {
          if (action === 'start') ctx.timerService.registerProcessingTimeTimer(150);
          else ctx.timerService.deleteProcessingTimeTimer(150);
        },
        onTimer(ts, ctx, out) {
          out.collect(`${ctx.currentKey}:${ts}`);
        },
      })
      .addSink((v) => void fired.push(v));
    const job = env.executeAsync('delete');
    input.push(['a', 'start'], ['b', 'start'], ['b', 'cancel']);
    await clock.setTime(200);
    input.end();
    await job.result;
    expect(fired).toEqual(['a:150']);
  });

  it('refuse a timer at a time that is not a finite number, naming the operator', async () => {
    for (const time of [Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0) });
      env
        .fromElements('a')
        .keyBy((k) => k)
        .process<string>({
          processElement(_key, ctx) {
            ctx.timerService.registerProcessingTimeTimer(time);
          },
        })
        .name('timed')
        .addSink(() => undefined);
      await expect(env.execute('bad timer')).rejects.toThrow(/registerProcessingTimeTimer\(\) in 'timed' takes a time in ms since the epoch, a finite number; got /);
    }
  });

  it('fire the timers due at the end of a bounded input; those not yet due are dropped', async () => {
    const clock = new ManualClock(100);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
    const out: string[] = [];
    env
      .fromElements('due', 'now', 'late')
      .keyBy((k) => k)
      .process<string>({
        processElement(key, ctx) {
          const now = ctx.timerService.currentProcessingTime();
          ctx.timerService.registerProcessingTimeTimer(key === 'due' ? now - 50 : key === 'now' ? now : now + 1);
        },
        onTimer(ts, ctx, collector) {
          collector.collect(`${ctx.currentKey}@${ts}`);
        },
      })
      .addSink((v) => void out.push(v));
    await env.execute('due at the end');
    expect(out).toEqual(['due@50', 'now@100']);
  });

  it('start the timers a checkpoint restored once the operators are open: an overdue one fires into an open function and sink', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-timers-'));
    /** Reports 50 ms after a key's record, with a label its open() sets, into a sink whose writer comes when `openWriter` settles. */
    const build = (env: StreamExecutionEnvironment, source: AsyncIterable<string>, out: string[], openWriter: () => Promise<void> = () => Promise.resolve()) =>
      env
        // A function, so that the source counts as replayable (the restored one resumes after the two records read).
        .fromAsyncIterable(() => source)
        .uid('keys')
        .keyBy((k) => k)
        .process<string>(
          new (class implements KeyedProcessFunction<string, string, string> {
            private label: string | undefined;
            open() {
              this.label = 'reported';
            }
            processElement(_key: string, ctx: KeyedProcessContext<string>) {
              ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 50);
            }
            onTimer(ts: number, ctx: KeyedProcessContext<string>, collector: Collector<string>) {
              collector.collect(`${ctx.currentKey}@${ts} ${this.label!.toUpperCase()}`);
            }
          })(),
        )
        .uid('report')
        .sinkTo({
          createWriter: async () => {
            await openWriter();
            return { write: (v: string) => void out.push(v) };
          },
        })
        .uid('out');

    const clock1 = new ManualClock(0);
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: clock1 }).enableCheckpointing(10, { storage });
    const input1 = controlledSource<string>();
    build(env1, input1.iterable, []);
    const job1 = env1.executeAsync('timers restored');
    input1.push('a', 'b');
    await clock1.advance(10);
    const completed = () => (env1.metrics.snapshot()['job.timers restored.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    while (completed() < 1) await new Promise((resolve) => setImmediate(resolve));
    job1.cancel();
    await job1.result;

    // Restored long after their time: both timers are overdue when the job starts.
    const out: string[] = [];
    const clock2 = new ManualClock(1_000);
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: clock2 }).enableCheckpointing(10, { storage });
    const input2 = controlledSource<string>();
    let asked!: () => void;
    let writerOpens!: () => void;
    const writerAsked = new Promise<void>((resolve) => (asked = resolve));
    build(env2, input2.iterable, out, () => {
      asked();
      return new Promise<void>((resolve) => (writerOpens = resolve));
    });
    const job2 = env2.executeAsync('timers restored', { restoreFrom: 'latest' });
    await writerAsked;
    // Time passes while the sink opens (the operators open tail first): the overdue timers must not fire yet.
    await clock2.setTime(1_001);
    expect(out).toEqual([]);
    writerOpens();
    while (out.length < 2) await clock2.setTime(clock2.now());
    input2.end();
    expect((await job2.result).status).toBe('finished');
    // Each timer at 50 ms after the time its record was processed (0 or 10, as the first run's turns went).
    expect(out.map((line) => line.replace(/@(50|60) /, ' ')).sort()).toEqual(['a REPORTED', 'b REPORTED']);
  });
});
