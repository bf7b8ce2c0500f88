import { types } from 'node:util';
import type { RichFunction, RuntimeContext } from '../api/functions.js';
import type { Key } from '../runtime/keyGroups.js';
import { extractKey, type KeyedContext, type OperatorContext } from './StreamOperator.js';

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
  return ctx.keyed === undefined ? undefined : keySetter(ctx.keyed, ctx.description);
}

/** {@link keyContextSetter} on a stream known to be keyed. */
export function keySetter(keyed: KeyedContext, description: string): (value: unknown) => Key {
  // Read once, here: the hot path then checks no per-job object's map (docs/internals.md, "Hidden classes").
  const { selector, backend } = keyed;
  return (value) => {
    const key = extractKey(selector, value, description);
    backend.setCurrentKey(key);
    return key;
  };
}

/**
 * Gives each subtask its own instance of a rich function object.
 *
 * Flink deserializes a fresh copy of a function for every subtask; here the
 * copy is shallow: a new object with `fn`'s prototype and `fn`'s own
 * properties (methods and initial fields, copied as property descriptors,
 * as they are when the operator is built), so whatever `open()` assigns to
 * `this` (state handles, clients) belongs to this subtask alone. Plain
 * functions are shared as they are. A Proxy (a test mock whose methods come
 * from its `get` trap) has no own properties to copy: it gets
 * `Object.create(proxy)`, which still reaches the trap.
 *
 * Not `Object.create(fn)`: that gives every job's copies a hidden class of
 * their own, which deoptimizes the operators' call sites at each new job
 * (docs/internals.md, "Hidden classes"); these copies share one class.
 */
export function perSubtask<F>(fn: F): F {
  if (typeof fn !== 'object' || fn === null) return fn;
  if (types.isProxy(fn)) return Object.create(fn) as F;
  return Object.defineProperties(Object.create(Object.getPrototypeOf(fn) as object | null) as object, Object.getOwnPropertyDescriptors(fn)) as F;
}
