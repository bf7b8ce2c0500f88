import { describeValue, OptionChecker } from './OptionChecker.js';

/** The brand of a factory: `Symbol.for`, so a second installed copy of this package recognises it too. */
const PER_SUBTASK: unique symbol = Symbol.for('tributary.perSubtask');

/**
 * A function given as a factory that the runtime calls once per parallel
 * subtask (and again for each restart): made by {@link perSubtask}.
 */
export interface PerSubtask<F> {
  readonly [PER_SUBTASK]: true;
  /** A new instance. The runtime calls it per subtask; call it yourself to use the function outside a job. */
  create(): F;
}

/**
 * Gives a rich function (one with `open`/`close` or fields) as a factory:
 * every subtask gets its own instance, as Flink deserializes one per subtask,
 * so clients, sessions and fields set in `open()` are never shared.
 *
 * Accepted wherever a function object is: `map`, `flatMap`, `filter`,
 * `process`, a keyed `process` and `reduce`, and the async operators' batch
 * and record functions. A plain object passed instead is copied per subtask,
 * shallowly (a new object with its prototype and own properties): enough for
 * fields that `open()` assigns, not for objects those fields already hold.
 *
 * @example
 * ```ts
 * import { perSubtask, type MapFunction, type RuntimeContext } from '@tributary/core';
 *
 * class Enrich implements MapFunction<string, string> {
 *   private prefix = '';
 *   open(ctx: RuntimeContext): void {
 *     this.prefix = `subtask ${ctx.subtaskIndex}: `;
 *   }
 *   map(line: string): string {
 *     return this.prefix + line;
 *   }
 * }
 *
 * stream.map(perSubtask(() => new Enrich()));
 * ```
 */
export function perSubtask<F extends object>(factory: () => F): PerSubtask<F> {
  if (typeof factory !== 'function') new OptionChecker('perSubtask()').fail(`needs a factory function, got ${describeValue(factory)}`);
  return { [PER_SUBTASK]: true, create: factory };
}

/** Whether `value` was made by {@link perSubtask} (of this copy of the package or another). */
export function isPerSubtask(value: unknown): value is PerSubtask<unknown> {
  return typeof value === 'object' && value !== null && (value as Partial<PerSubtask<unknown>>)[PER_SUBTASK] === true;
}
