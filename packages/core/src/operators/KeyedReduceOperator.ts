import type { ReduceFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import { ValueStateDescriptor, type ValueState } from '../runtime/state/descriptors.js';
import { emitChunk, type OneInputStreamOperator, type OperatorContext } from './StreamOperator.js';
import { closeFunction, functionForSubtask, keyContextSetter, openFunction } from './userFunctions.js';

/** Flink's rolling `reduce`: folds each record into its key's value and emits the new value. */
export class KeyedReduceOperator<T> implements OneInputStreamOperator<T> {
  private readonly fn: ReduceFunction<T> | ((accumulator: T, value: T) => T);
  private readonly reduce: (accumulator: T, value: T) => T;
  private readonly setKey: (value: unknown) => unknown;
  readonly setsKeys = true;
  private readonly state: ValueState<T>;

  constructor(
    private readonly ctx: OperatorContext<T>,
    userFn: ReduceFunction<T> | ((accumulator: T, value: T) => T) | PerSubtask<ReduceFunction<T>>,
  ) {
    this.fn = functionForSubtask(userFn, 'reduce');
    const setKey = keyContextSetter(ctx);
    if (setKey === undefined) throw new Error(`reduce ${ctx.description} needs a keyed stream`);
    this.setKey = setKey;
    this.reduce = typeof this.fn === 'function' ? this.fn : this.fn.reduce.bind(this.fn);
    this.state = ctx.runtimeContext.getState(new ValueStateDescriptor<T>('_reduce'));
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: T): void {
    this.ctx.output.collect(this.fold(value));
  }

  processChunk(values: readonly T[]): void {
    const out = new Array<T>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = this.fold(values[i] as T);
    emitChunk(this.ctx.output, out);
  }

  /** Folds a record into its key's value and returns the new value. */
  private fold(value: T): T {
    this.setKey(value);
    const current = this.state.value();
    const next = current === undefined ? value : this.reduce(current, value);
    this.state.update(next);
    return next;
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
