import { InvalidJobError } from '../runtime/errors.js';
import { describeValue } from './OptionChecker.js';
import { brandClass } from './brandClass.js';

/**
 * Names a side output: a second, typed stream an operator can emit to
 * besides its main output (late records, dead letters, parse errors).
 *
 * @example
 * ```ts
 * const rejected = new OutputTag<string>('rejected');
 * const parsed = lines.process({
 *   processElement(line, ctx, out) {
 *     const n = Number(line);
 *     if (Number.isNaN(n)) ctx.output(rejected, line);
 *     else out.collect(n);
 *   },
 * });
 * parsed.getSideOutput(rejected).print();
 * ```
 */
export class OutputTag<T> {
  static {
    brandClass(this, 'OutputTag');
  }

  declare readonly _type?: T;
  constructor(readonly id: string) {
    if (typeof id !== 'string' || id === '') throw new InvalidJobError(`OutputTag needs a non-empty string id, got ${describeValue(id)}`);
  }
}
