import { ValueStateDescriptor, type MapFunction, type RuntimeContext, type ValueState } from '@tributary/core';

// S4's workload, in a module of its own: a job module that imports it (S4-edge's, loaded by every slot) loads no
// contender's library (RxJS) with it.

/** Distinct keys of S4. */
export const KEYS = 1000;

/**
 * The input of S4: small numbers (i mod 10007), keyed by value mod 1000.
 * Numbers rather than objects, so the figure is the keyed plumbing, not allocation.
 */
export function* keyedInput(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i % 10007;
}

export const keyOf = (v: number): number => v % KEYS;

/** The name of the `ValueState` {@link runningSumFunction} keeps its sum in. */
export const RUNNING_SUM_STATE = 'sum';

/** A rich map function keeping the running sum in `ValueState`: the Flink way. */
interface RunningSum extends MapFunction<number, number> {
  sum: ValueState<number> | undefined;
}

export function runningSumFunction(): RunningSum {
  return {
    sum: undefined,
    open(ctx: RuntimeContext) {
      this.sum = ctx.getState(new ValueStateDescriptor<number>(RUNNING_SUM_STATE, 0));
    },
    map(v: number) {
      const state = this.sum as ValueState<number>;
      const next = (state.value() as number) + v;
      state.update(next);
      return next;
    },
  };
}
