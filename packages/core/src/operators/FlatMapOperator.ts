import type { FlatMapFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import { emitChunk, type OneInputStreamOperator, type OperatorContext } from './StreamOperator.js';
import { closeFunction, functionForSubtask, keyContextSetter, openFunction } from './userFunctions.js';

/**
 * Emits zero or more records per input: a plain function returns an
 * iterable, a `FlatMapFunction` object emits through a collector (Flink style).
 */
export class FlatMapOperator<TIn, TOut> implements OneInputStreamOperator<TIn> {
  private readonly fn: FlatMapFunction<TIn, TOut> | ((value: TIn) => Iterable<TOut>);
  private readonly setKey: ((value: unknown) => unknown) | undefined;

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    userFn: FlatMapFunction<TIn, TOut> | ((value: TIn) => Iterable<TOut>) | PerSubtask<FlatMapFunction<TIn, TOut>>,
  ) {
    this.fn = functionForSubtask(userFn, 'flatMap');
    this.setKey = keyContextSetter(ctx);
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: TIn): void {
    this.setKey?.(value);
    const out = this.ctx.output;
    if (typeof this.fn === 'function') {
      for (const v of this.fn(value)) out.collect(v);
    } else {
      this.fn.flatMap(value, out);
    }
  }

  processChunk(values: readonly TIn[]): void {
    const fn = this.fn;
    if (typeof fn !== 'function') {
      // A FlatMapFunction emits through the collector itself.
      for (let i = 0; i < values.length; i++) this.processElement(values[i] as TIn);
      return;
    }
    const out: TOut[] = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as TIn;
      this.setKey?.(value);
      for (const v of fn(value)) out.push(v);
    }
    emitChunk(this.ctx.output, out);
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
