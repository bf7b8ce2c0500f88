import type { KeyedProcessContext, KeyedProcessFunction } from '../api/functions.js';
import { describeValue } from '../api/OptionChecker.js';
import type { PerSubtask } from '../api/perSubtask.js';
import type { Key } from '../runtime/keyGroups.js';
import type { OneInputStreamOperator, OperatorContext } from './StreamOperator.js';
import { closeFunction, functionForSubtask, keySetter, openFunction } from './userFunctions.js';

/** Runs a `KeyedProcessFunction`: keyed state and one timer per (key, timestamp). */
export class KeyedProcessOperator<TKey extends Key, TIn, TOut> implements OneInputStreamOperator<TIn> {
  private readonly fn: KeyedProcessFunction<TKey, TIn, TOut>;
  private readonly setKey: (value: unknown) => Key;
  readonly setsKeys = true;
  private readonly processContext: KeyedProcessContext<TKey>;

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    userFn: KeyedProcessFunction<TKey, TIn, TOut> | PerSubtask<KeyedProcessFunction<TKey, TIn, TOut>>,
  ) {
    this.fn = functionForSubtask(userFn, 'processElement');
    const keyed = ctx.keyed;
    if (keyed === undefined) throw new Error(`KeyedProcessOperator ${ctx.description} needs a keyed stream`);
    this.setKey = keySetter(keyed, ctx.description);
    const output = ctx.output;
    this.processContext = {
      get currentKey() {
        return keyed.backend.currentKey as TKey;
      },
      timerService: {
        currentProcessingTime: () => ctx.clock.now(),
        registerProcessingTimeTimer: (timestamp) => {
          // Checked here, naming the operator: NaN would sit in the timer heap and fail the clock later, far from the call.
          if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
            throw new Error(`registerProcessingTimeTimer() in ${ctx.description} takes a time in ms since the epoch, a finite number; got ${describeValue(timestamp)}`);
          }
          keyed.timers.register(keyed.backend.currentKey, timestamp);
        },
        deleteProcessingTimeTimer: (timestamp) => {
          keyed.timers.delete(keyed.backend.currentKey, timestamp);
        },
      },
      output: (tag, value) => {
        output.collectSide(tag, value);
      },
    };
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: TIn): void {
    this.setKey(value);
    this.fn.processElement(value, this.processContext, this.ctx.output);
  }

  onProcessingTime(timestamp: number): void {
    this.fn.onTimer?.(timestamp, this.processContext, this.ctx.output);
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
