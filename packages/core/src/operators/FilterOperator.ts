import type { FilterFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import { emitChunk, type OneInputStreamOperator, type OperatorContext, type RecordStage } from './StreamOperator.js';
import { closeFunction, functionForSubtask, openFunction } from './userFunctions.js';

/** Keeps the records a predicate accepts. */
export class FilterOperator<T> implements OneInputStreamOperator<T> {
  private readonly fn: FilterFunction<T> | ((value: T) => boolean);
  private readonly filter: (value: T) => boolean;

  constructor(
    private readonly ctx: OperatorContext<T>,
    userFn: FilterFunction<T> | ((value: T) => boolean) | PerSubtask<FilterFunction<T>>,
  ) {
    this.fn = functionForSubtask(userFn, 'filter');
    this.filter = typeof this.fn === 'function' ? this.fn : this.fn.filter.bind(this.fn);
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: T): void {
    if (this.filter(value)) this.ctx.output.collect(value);
  }

  processChunk(values: readonly T[]): void {
    // Pre-sized and trimmed once: growing by push reallocates several times per chunk.
    const kept = new Array<T>(values.length);
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as T;
      if (this.filter(value)) kept[n++] = value;
    }
    kept.length = n;
    emitChunk(this.ctx.output, kept);
  }

  recordStage(): RecordStage {
    return { kind: 'filter', fn: this.filter as (value: unknown) => boolean };
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
