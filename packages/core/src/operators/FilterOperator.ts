import type { FilterFunction } from '../api/functions.js';
import type { OneInputStreamOperator, OperatorContext } from './StreamOperator.js';
import { closeFunction, perSubtask, openFunction } from './userFunctions.js';

/** Keeps the records a predicate accepts. */
export class FilterOperator<T> implements OneInputStreamOperator<T> {
  private readonly fn: FilterFunction<T> | ((value: T) => boolean);
  private readonly filter: (value: T) => boolean;

  constructor(
    private readonly ctx: OperatorContext<T>,
    userFn: FilterFunction<T> | ((value: T) => boolean),
  ) {
    this.fn = perSubtask(userFn);
    this.filter = typeof this.fn === 'function' ? this.fn : this.fn.filter.bind(this.fn);
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: T): void {
    if (this.filter(value)) this.ctx.output.collect(value);
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
