import type { MapFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import { emitChunk, type OneInputStreamOperator, type OperatorContext, type RecordStage } from './StreamOperator.js';
import { closeFunction, functionForSubtask, keyContextSetter, openFunction, returnedPromise } from './userFunctions.js';

/** Applies a function to every record (keyed or not). */
export class MapOperator<TIn, TOut> implements OneInputStreamOperator<TIn> {
  private readonly fn: MapFunction<TIn, TOut> | ((value: TIn) => TOut);
  private readonly map: (value: TIn) => TOut;
  private readonly setKey: ((value: unknown) => unknown) | undefined;
  readonly setsKeys: boolean;

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    userFn: MapFunction<TIn, TOut> | ((value: TIn) => TOut) | PerSubtask<MapFunction<TIn, TOut>>,
  ) {
    this.fn = functionForSubtask(userFn, 'map');
    this.map = typeof this.fn === 'function' ? this.fn : this.fn.map.bind(this.fn);
    this.setKey = keyContextSetter(ctx);
    this.setsKeys = this.setKey !== undefined;
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: TIn): void {
    this.setKey?.(value);
    const out = this.map(value);
    // An async function's Promise would go downstream as a record.
    if (out instanceof Promise) returnedPromise('map');
    this.ctx.output.collect(out);
  }

  processChunk(values: readonly TIn[]): void {
    const out = new Array<TOut>(values.length);
    const setKey = this.setKey;
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as TIn;
      setKey?.(value);
      const mapped = this.map(value);
      if (mapped instanceof Promise) returnedPromise('map');
      out[i] = mapped;
    }
    emitChunk(this.ctx.output, out);
  }

  recordStage(): RecordStage | undefined {
    // A keyed map sets the current key before each record: not a plain function.
    return this.setKey === undefined ? { kind: 'map', fn: this.map as (value: unknown) => unknown } : undefined;
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
