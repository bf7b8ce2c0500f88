import type { FlatMapFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import { emitChunk, type OneInputStreamOperator, type OperatorContext } from './StreamOperator.js';
import { closeFunction, functionForSubtask, isThenable, keyContextSetter, openFunction, returnedPromise } from './userFunctions.js';

/** The most records a chunk's outputs are held in before they go on. */
export const MAX_PIECE = 1 << 16;

/**
 * Emits zero or more records per input: a plain function returns an
 * iterable, a `FlatMapFunction` object emits through a collector (Flink style).
 */
export class FlatMapOperator<TIn, TOut> implements OneInputStreamOperator<TIn> {
  private readonly fn: FlatMapFunction<TIn, TOut> | ((value: TIn) => Iterable<TOut>);
  private readonly setKey: ((value: unknown) => unknown) | undefined;
  readonly setsKeys: boolean;

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    userFn: FlatMapFunction<TIn, TOut> | ((value: TIn) => Iterable<TOut>) | PerSubtask<FlatMapFunction<TIn, TOut>>,
  ) {
    this.fn = functionForSubtask(userFn, 'flatMap');
    this.setKey = keyContextSetter(ctx);
    this.setsKeys = this.setKey !== undefined;
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: TIn): void {
    this.setKey?.(value);
    const out = this.ctx.output;
    if (typeof this.fn === 'function') {
      const values = this.fn(value);
      // An async function's Promise is not iterable; say why instead of "is not iterable".
      if (values instanceof Promise) returnedPromise('flatMap');
      for (const v of values) out.collect(v);
    } else {
      // A FlatMapFunction returns nothing: a Promise means it emits after its record was done with.
      const returned: unknown = this.fn.flatMap(value, out);
      if (returned !== undefined && isThenable(returned)) returnedPromise('flatMap');
    }
  }

  processChunk(values: readonly TIn[]): void {
    const fn = this.fn;
    if (typeof fn !== 'function') {
      // A FlatMapFunction emits through the collector itself.
      for (let i = 0; i < values.length; i++) this.processElement(values[i] as TIn);
      return;
    }
    let out: TOut[] = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as TIn;
      this.setKey?.(value);
      const mapped = fn(value);
      if (mapped instanceof Promise) returnedPromise('flatMap');
      for (const v of mapped) {
        // Passed on in pieces: one input's outputs may outgrow any one array.
        if (out.push(v) === MAX_PIECE) {
          emitChunk(this.ctx.output, out);
          out = [];
        }
      }
    }
    emitChunk(this.ctx.output, out);
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
