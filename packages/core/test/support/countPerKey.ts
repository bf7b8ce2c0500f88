import { ValueStateDescriptor, type MapFunction, type RuntimeContext, type ValueState } from '../../src/index.js';

/** Counts records per key in keyed state and emits [n, count of its key so far]: the keyed job of the restore tests. */
export class CountPerKey implements MapFunction<number, [number, number]> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext) {
    this.count = ctx.getState(new ValueStateDescriptor('count', 0));
  }
  map(n: number): [number, number] {
    const c = this.count.value()! + 1;
    this.count.update(c);
    return [n, c];
  }
}
