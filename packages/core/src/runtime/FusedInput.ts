import type { Counter } from '../metrics/MetricRegistry.js';
import type { RecordStage } from '../operators/StreamOperator.js';
import { OperatorError } from './errors.js';
import type { ChunkCollector } from './Task.js';

/** One operator of a fused run: its function and the counters its records in and out go to. */
export interface FusedStage {
  readonly stage: RecordStage;
  readonly recordsIn: Counter;
  /** Its records out; the last stage's are counted by the output the run emits to. */
  readonly recordsOut: Counter;
  readonly description: string;
}

/**
 * The input of a run of chained maps and filters (operators with a
 * `recordStage`), executed as one loop: each record goes through every stage
 * in turn, and one array of survivors goes on to the last stage's output.
 * Unfused, every operator loops over the chunk and allocates its own output
 * array; fused, S3's map -> filter -> map does one loop and one array.
 *
 * Everything observable stays per operator: records in and out, and an
 * exception names the operator whose function threw.
 */
export class FusedInput implements ChunkCollector<unknown> {
  private readonly fns: ((value: unknown) => unknown)[];
  private readonly isMap: boolean[];
  /** Records that reached each stage during the current chunk. */
  private readonly reached: number[];

  constructor(
    readonly stages: readonly FusedStage[],
    /** The last stage's output (it counts that stage's records out). */
    readonly output: ChunkCollector<unknown>,
  ) {
    this.fns = stages.map((s) => s.stage.fn);
    this.isMap = stages.map((s) => s.stage.kind === 'map');
    this.reached = stages.map(() => 0);
  }

  /** This run with `first` in front of it. */
  prepend(first: FusedStage): FusedInput {
    return new FusedInput([first, ...this.stages], this.output);
  }

  collect(value: unknown): void {
    const fns = this.fns;
    const count = fns.length;
    let v = value;
    let s = 0;
    try {
      for (; s < count; s++) {
        this.reached[s] = (this.reached[s] as number) + 1;
        const fn = fns[s] as (value: unknown) => unknown;
        if (this.isMap[s] === true) v = fn(v);
        else if (!fn(v)) break;
      }
    } catch (error) {
      this.count();
      throw OperatorError.wrap(error, (this.stages[s] as FusedStage).description);
    }
    this.count();
    if (s === count) this.output.collect(v);
  }

  collectChunk(values: readonly unknown[]): void {
    const fns = this.fns;
    const isMap = this.isMap;
    const reached = this.reached;
    const count = fns.length;
    const out = new Array<unknown>(values.length);
    let n = 0;
    let s = 0;
    try {
      for (let i = 0; i < values.length; i++) {
        let v = values[i];
        for (s = 0; s < count; s++) {
          reached[s] = (reached[s] as number) + 1;
          const fn = fns[s] as (value: unknown) => unknown;
          if (isMap[s] === true) v = fn(v);
          else if (!fn(v)) break;
        }
        if (s === count) out[n++] = v;
      }
    } catch (error) {
      // What got through before the failure goes on, as it would have record by record.
      this.emit(out, n);
      throw OperatorError.wrap(error, (this.stages[s] as FusedStage).description);
    }
    this.emit(out, n);
  }

  private emit(out: unknown[], n: number): void {
    this.count();
    out.length = n;
    if (n === 1) this.output.collect(out[0]);
    else if (n > 1) this.output.collectChunk(out);
  }

  /** Moves the per-chunk tallies to the operators' counters. */
  private count(): void {
    const { stages, reached } = this;
    for (let s = 0; s < stages.length; s++) {
      const stage = stages[s] as FusedStage;
      const inCount = reached[s] as number;
      stage.recordsIn.count += inCount;
      if (s + 1 < stages.length) stage.recordsOut.count += reached[s + 1] as number;
      reached[s] = 0;
    }
  }
}
