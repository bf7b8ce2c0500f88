import type { FilterFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import { emitChunk, type OneInputStreamOperator, type OperatorContext, type RecordStage } from './StreamOperator.js';
import { closeFunction, functionForSubtask, keyContextSetter, keptBy, openFunction } from './userFunctions.js';

/** Keeps the records a predicate accepts (keyed or not: on a keyed stream the predicate may use keyed state). */
export class FilterOperator<T> implements OneInputStreamOperator<T> {
  private readonly fn: FilterFunction<T> | ((value: T) => boolean);
  private readonly filter: (value: T) => boolean;
  private readonly setKey: ((value: unknown) => unknown) | undefined;
  readonly setsKeys: boolean;

  constructor(
    private readonly ctx: OperatorContext<T>,
    userFn: FilterFunction<T> | ((value: T) => boolean) | PerSubtask<FilterFunction<T>>,
  ) {
    this.fn = functionForSubtask(userFn, 'filter');
    this.filter = typeof this.fn === 'function' ? this.fn : this.fn.filter.bind(this.fn);
    this.setKey = keyContextSetter(ctx);
    this.setsKeys = this.setKey !== undefined;
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: T): void {
    this.setKey?.(value);
    // A Promise is truthy: an async predicate would keep every record (keptBy fails the job instead).
    const keep = this.filter(value);
    if (keep === true || (keep !== false && keptBy(keep))) this.ctx.output.collect(value);
  }

  processChunk(values: readonly T[]): void {
    // Pre-sized and trimmed once: growing by push reallocates several times per chunk.
    const kept = new Array<T>(values.length);
    let n = 0;
    const setKey = this.setKey;
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as T;
      setKey?.(value);
      const keep = this.filter(value);
      if (keep === true || (keep !== false && keptBy(keep))) kept[n++] = value;
    }
    kept.length = n;
    emitChunk(this.ctx.output, kept);
  }

  recordStage(): RecordStage | undefined {
    // A keyed filter sets the current key before each record: not a plain predicate.
    return this.setKey === undefined ? { kind: 'filter', fn: this.filter as (value: unknown) => boolean } : undefined;
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
