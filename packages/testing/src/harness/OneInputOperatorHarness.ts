import { ProcessOperator, type OperatorFactory, type ProcessFunction } from '@tributary/core';
import { OperatorHarness, type HarnessOptions } from './OperatorHarness.js';

/**
 * Drives one operator instance by hand, after Flink's
 * `OneInputStreamOperatorTestHarness`: feed records, move processing time,
 * end the input, and read what came out. Works for any operator built on
 * core's operator SPI, including the async operators.
 *
 * Details: records are fed synchronously, as the runtime does. Promise work
 * (a batch call answering) runs when the test awaits `drain()`,
 * `setProcessingTime(t)` or `endInput()`; the clock never moves by itself.
 *
 * @example
 * ```ts
 * const harness = OneInputOperatorHarness.forProcessFunction<string, number>({
 *   processElement(line, _ctx, out) {
 *     out.collect(line.length);
 *   },
 * });
 * await harness.open();
 * harness.processElements(['a', 'bcd']);
 * harness.getOutput(); // [1, 3]
 * ```
 */
export class OneInputOperatorHarness<TIn, TOut> extends OperatorHarness<TIn, TOut> {
  constructor(factory: OperatorFactory<TIn, TOut>, options: HarnessOptions = {}) {
    super(factory, undefined, options);
  }

  /** A harness around core's `ProcessOperator` running `fn`. */
  static forProcessFunction<TIn, TOut>(fn: ProcessFunction<TIn, TOut>, options: HarnessOptions = {}): OneInputOperatorHarness<TIn, TOut> {
    return new OneInputOperatorHarness<TIn, TOut>((ctx) => new ProcessOperator(ctx, fn), { name: 'Process', ...options });
  }
}
