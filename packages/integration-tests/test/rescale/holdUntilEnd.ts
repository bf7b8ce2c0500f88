// Shown in docs/fault-tolerance.md ("Writing an operator, a sink or a source that rescales"); tested by examples.test.ts.
import type { OneInputStreamOperator, OperatorContext, OperatorListState } from '@tributary/core';

/** Holds records back until the end of input; the held records rescale. */
export class HoldUntilEnd<T> implements OneInputStreamOperator<T> {
  private held: T[] = [];
  constructor(private readonly ctx: OperatorContext<T>) {}
  initializeListState(lists: OperatorListState): void {
    this.held = [...((lists.held ?? []) as T[])];
  }
  processElement(value: T): void {
    this.held.push(value);
  }
  snapshotListState(): OperatorListState {
    return { held: this.held };
  }
  endInput(): void {
    for (const value of this.held.splice(0)) this.ctx.output.collect(value);
  }
}
