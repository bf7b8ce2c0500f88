import type { ProcessContext, ProcessFunction } from '../api/functions.js';
import type { PerSubtask } from '../api/perSubtask.js';
import type { OneInputStreamOperator, OperatorContext } from './StreamOperator.js';
import { closeFunction, functionForSubtask, openFunction } from './userFunctions.js';

/** Runs a `ProcessFunction` (non-keyed): records in, records and side outputs out. */
export class ProcessOperator<TIn, TOut> implements OneInputStreamOperator<TIn> {
  private readonly fn: ProcessFunction<TIn, TOut>;
  private readonly processContext: ProcessContext;

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    userFn: ProcessFunction<TIn, TOut> | PerSubtask<ProcessFunction<TIn, TOut>>,
  ) {
    this.fn = functionForSubtask(userFn, 'processElement');
    const output = ctx.output;
    this.processContext = {
      timerService: { currentProcessingTime: () => ctx.clock.now() },
      output: (tag, value) => {
        output.collectSide(tag, value);
      },
    };
  }

  open(): void | Promise<void> {
    return openFunction(this.fn, this.ctx.runtimeContext);
  }

  processElement(value: TIn): void {
    this.fn.processElement(value, this.processContext, this.ctx.output);
  }

  close(): void | Promise<void> {
    return closeFunction(this.fn);
  }
}
