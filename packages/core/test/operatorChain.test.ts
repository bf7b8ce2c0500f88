import { describe, expect, it } from 'vitest';
import { createOperatorContext, ManualClock, MetricRegistry, type OneInputStreamOperator, type TaskHooks } from '../src/index.js';
import { OperatorChain, type ChainDriver, type ChainedOperator } from '../src/runtime/OperatorChain.js';

const hooks: TaskHooks = { execute: (a) => a(), fail: () => undefined, backpressure: () => undefined, signal: new AbortController().signal };

/** A chain of operators 'a' -> 'b' -> 'c' that log every lifecycle call; 'b' also has a pending timer. */
function chain(log: string[]) {
  const clock = new ManualClock(0);
  const operators: ChainedOperator[] = ['a', 'b', 'c'].map((name) => {
    const ctx = createOperatorContext(
      { name, subtaskIndex: 0, parallelism: 1, clock, metrics: new MetricRegistry().group(), output: { collect: () => undefined, collectSide: () => undefined }, task: hooks },
      () => undefined,
    );
    if (name === 'b') ctx.processingTimeService.registerTimer(10, () => log.push('timer b'));
    const operator: OneInputStreamOperator<unknown> = {
      processElement: () => undefined,
      open: () => void log.push(`open ${name}`),
      endInput: () => void log.push(`endInput ${name}`),
      snapshotState: (id) => (log.push(`snapshot ${name} ${id}`), name),
      notifyCheckpointComplete: (id) => void log.push(`notify ${name} ${id}`),
      close: () => void log.push(`close ${name}`),
    };
    return { id: name, operator, ctx };
  });
  return { chain: new OperatorChain(operators), operators, clock };
}

/** A driver that runs each step at once; the job stops after a step of operator `stopAfter`. */
function driver(stopAfter?: string): ChainDriver {
  const d = {
    stopped: false,
    async step<T>(waitingOn: string, _operator: string, call: () => T | Promise<T>) {
      const result = await call();
      if (waitingOn.includes(`'${stopAfter}'`)) d.stopped = true;
      return result;
    },
    settleAsync: (_operator: string, fn: () => unknown) => void fn(),
    settleBackpressure: () => Promise.resolve(),
    close: async (_operator: string, close: () => unknown) => void (await close()),
  };
  return d;
}

describe('OperatorChain', () => {
  const lifecycle: { step: string; run: (c: OperatorChain, d: ChainDriver) => Promise<unknown> | void; log: string[] }[] = [
    { step: 'open: tail first, so each operator emits into opened successors', run: (c, d) => c.open(d), log: ['open c', 'open b', 'open a'] },
    { step: 'endInput: head first', run: (c, d) => c.endInput(d), log: ['endInput a', 'endInput b', 'endInput c'] },
    { step: 'snapshot: head first, all at the barrier', run: (c) => c.snapshot(7), log: ['snapshot a 7', 'snapshot b 7', 'snapshot c 7'] },
    { step: 'notifyCheckpointComplete: head first', run: (c, d) => c.notifyCheckpointComplete(d, 7), log: ['notify a 7', 'notify b 7', 'notify c 7'] },
    { step: 'the final notification: head first', run: (c, d) => c.notifyFinalCheckpoint(d, 9), log: ['notify a 9', 'notify b 9', 'notify c 9'] },
    { step: 'close: head first', run: (c, d) => c.close(d), log: ['close a', 'close b', 'close c'] },
  ];
  it.each(lifecycle)('$step', async ({ run, log: expected }) => {
    const log: string[] = [];
    const { chain: c } = chain(log);
    await run(c, driver());
    expect(log).toEqual(expected);
  });

  it('snapshots each operator by id and stops ending the input once the job stopped', async () => {
    const log: string[] = [];
    const { chain: c } = chain(log);
    expect(await c.snapshot(3)).toEqual([
      { id: 'a', snapshot: { operatorState: 'a' } },
      { id: 'b', snapshot: { operatorState: 'b' } },
      { id: 'c', snapshot: { operatorState: 'c' } },
    ]);
    log.length = 0;
    await c.endInput(driver('a'));
    expect(log).toEqual(['endInput a']);
  });

  it('keeps an operator restored finished marked finished in a periodic snapshot, and skips its end of input', async () => {
    const log: string[] = [];
    const { operators } = chain(log);
    const c = new OperatorChain(operators.map((o) => (o.id === 'a' ? { ...o, restoredFinished: true } : o)));
    // A task restored finished can take a barrier before it ends its input again (in slots, after a restart).
    expect(await c.snapshot(4)).toEqual([
      { id: 'a', snapshot: { operatorState: 'a', finished: true } },
      { id: 'b', snapshot: { operatorState: 'b' } },
      { id: 'c', snapshot: { operatorState: 'c' } },
    ]);
    await c.endInput(driver());
    expect(log.filter((l) => l.startsWith('endInput'))).toEqual(['endInput b', 'endInput c']);
  });

  it("cancels the operators' timers when it closes them", async () => {
    const log: string[] = [];
    const { chain: c, operators, clock } = chain(log);
    expect(operators[1]?.ctx.processingTimeService.pendingTimers).toBe(1);
    await c.close(driver());
    await clock.setTime(10);
    expect(log).not.toContain('timer b');
    expect(operators[1]?.ctx.processingTimeService.pendingTimers).toBe(0);
  });
});
