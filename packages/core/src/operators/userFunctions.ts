import type { RichFunction, RuntimeContext } from '../api/functions.js';
import type { Key } from '../runtime/keyGroups.js';
import { extractKey, type OperatorContext } from './StreamOperator.js';

/** Opens a user function if it is a rich function. */
export function openFunction(fn: unknown, ctx: RuntimeContext): void | Promise<void> {
  if (typeof fn === 'object' && fn !== null && typeof (fn as RichFunction).open === 'function') {
    return (fn as RichFunction).open?.(ctx);
  }
}

/** Closes a user function if it is a rich function. */
export function closeFunction(fn: unknown): void | Promise<void> {
  if (typeof fn === 'object' && fn !== null && typeof (fn as RichFunction).close === 'function') {
    return (fn as RichFunction).close?.();
  }
}

/**
 * Returns a function that makes a record's key the current key before user
 * code runs, or `undefined` on a stream that is not keyed (so the hot path
 * pays nothing).
 */
export function keyContextSetter(ctx: OperatorContext<unknown>): ((value: unknown) => Key) | undefined {
  const keyed = ctx.keyed;
  if (keyed === undefined) return undefined;
  return (value) => {
    const key = extractKey(keyed.selector, value, ctx.description);
    keyed.backend.setCurrentKey(key);
    return key;
  };
}

/**
 * Gives each subtask its own instance of a rich function object.
 *
 * Flink deserializes a fresh copy of a function for every subtask; here the
 * copy is `Object.create(fn)`: methods and initial fields are inherited, and
 * whatever `open()` assigns to `this` (state handles, clients) belongs to
 * this subtask alone. Plain functions are shared as they are.
 */
export function perSubtask<F>(fn: F): F {
  return typeof fn === 'object' && fn !== null ? (Object.create(fn) as F) : fn;
}
