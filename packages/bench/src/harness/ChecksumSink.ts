import type { Checksum } from './model.js';

/** Counts and sums what a contender's pipeline delivers: every scenario's sink, so all are checked alike. */
export class ChecksumSink {
  count = 0;
  sum = 0;
  readonly write = (v: number): void => {
    this.count++;
    this.sum += v;
  };
  readonly writeAll = (values: readonly number[]): void => {
    for (let i = 0; i < values.length; i++) this.write(values[i] as number);
  };
  result(): Checksum {
    return { count: this.count, sum: this.sum };
  }
}
