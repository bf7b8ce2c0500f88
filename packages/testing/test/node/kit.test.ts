// Runs under node:test, not vitest (`pnpm test` runs it with `node --test`):
// the kit's main entry must work with any test runner.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment, ValueStateDescriptor, type KeyedProcessFunction, type ValueState } from '@tributary/core';
import { collect, FakeBatchService, KeyedOneInputOperatorHarness, ManualClock, runJobToCompletion } from '@tributary/testing';

const runningTotal: KeyedProcessFunction<string, [string, number], string> & { total?: ValueState<number> } = {
  open(ctx) {
    this.total = ctx.getState(new ValueStateDescriptor<number>('total', 0));
  },
  processElement([, n], ctx) {
    this.total!.update(this.total!.value()! + n);
    ctx.timerService.registerProcessingTimeTimer(100);
  },
  onTimer(timestamp, ctx, out) {
    out.collect(`${ctx.currentKey}=${this.total!.value()}@${timestamp}`);
  },
};

// node:test's describe/it return promises the runner itself tracks.
void describe('@tributary/testing under node:test', () => {
  void it('drives a keyed process function with a harness and a manual clock', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(runningTotal, ([key]) => key);
    await harness.open();
    harness.processElements([
      ['a', 1],
      ['b', 5],
      ['a', 2],
    ]);
    assert.equal(harness.numProcessingTimeTimers(), 2);
    await harness.setProcessingTime(100);
    assert.deepEqual(harness.getOutput(), ['a=3@100', 'b=5@100']);
  });

  void it('serves a fake batch service on the manual clock', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, number>({ clock, handler: (xs) => xs.map((x) => x.length), latency: { baseMs: 4, perItemMs: 3 } });
    const answer = service.call(['a', 'bcd']);
    await clock.advance(10);
    assert.deepEqual(await answer, [1, 3]);
    assert.equal(service.calls[0]?.finishedAt, 10);
  });

  void it('runs a job to completion under the manual clock', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    async function* slow() {
      yield 1;
      await new Promise<void>((resolve) => clock.schedule(50, resolve));
      yield 2;
    }
    const out = collect(env.fromAsyncIterable(slow()).map((n) => n * 10));
    const result = await runJobToCompletion(env.executeAsync('node-test'), clock);
    assert.equal(result.status, 'finished');
    assert.deepEqual(out, [10, 20]);
    assert.equal(clock.now(), 50);
  });
});
