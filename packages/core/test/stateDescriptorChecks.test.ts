import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment, type RuntimeContext } from '../src/index.js';

/** A keyed map whose open() asks for state with `ask`: the job's error must name the method and the operator. */
const job = (ask: (ctx: RuntimeContext) => unknown): Promise<unknown[]> =>
  StreamExecutionEnvironment.create({ runtime: 'single-thread' })
    .fromElements(1, 1)
    .keyBy(() => 'k')
    .map({
      open(ctx: RuntimeContext) {
        ask(ctx);
      },
      map: (x: number) => x,
    })
    .name('counter')
    .executeAndCollect();

describe('keyed state asked for with something that is not a descriptor', () => {
  it.each([
    ['getState', (ctx: RuntimeContext) => ctx.getState(null as never), 'null'],
    ['getListState', (ctx: RuntimeContext) => ctx.getListState(undefined as never), 'undefined'],
    ['getMapState', (ctx: RuntimeContext) => ctx.getMapState('m' as never), "'m'"],
  ] as const)('%s() fails in open(), naming the method and the operator', async (method, ask, shown) => {
    // It was "Cannot read properties of null (reading 'name')".
    await expect(job(ask)).rejects.toThrow(`operator 'counter': ${method}(): needs a state descriptor, got ${shown}`);
  });

  it('getReducingState() refuses a descriptor-like object without a reduce function in open(), not at the second record of a key', async () => {
    const ask = (ctx: RuntimeContext) => ctx.getReducingState({ kind: 'reducing', name: 'sum', reduce: 5 } as never);
    await expect(job(ask)).rejects.toThrow("operator 'counter': ReducingStateDescriptor 'sum': option 'reduce' must be a function, got 5");
  });
});
