import type { OneInputStreamOperator, OperatorContext, OperatorListState } from '../../src/index.js';

/**
 * Passes its records on, counting them in list state, and emits -count at the
 * end of its input (nothing for none): a result of the end of input that a
 * restore must not emit again.
 */
export class CountAtEnd implements OneInputStreamOperator<number> {
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
    if (this.count > 0) this.ctx.output.collect(-this.count);
  }
}
