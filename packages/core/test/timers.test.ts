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
});
