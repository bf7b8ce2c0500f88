import { types } from 'node:util';
import type { RichFunction, RuntimeContext } from '../api/functions.js';
import { describeValue } from '../api/OptionChecker.js';
import { isPerSubtask, type PerSubtask } from '../api/perSubtask.js';
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
 * The instance of a user function that one subtask runs: a new one from a
 * {@link perSubtask} factory; for a plain object, a shallow copy (the
 * documented fallback: a new object with `fn`'s prototype and own properties,
 * so what `open()` assigns to `this` belongs to this subtask); a plain
 * function as it is. A factory's result must be a function or have `method`.
 *
 * A Proxy (a test mock whose methods come from its `get` trap) has no own
 * properties to copy: it gets `Object.create(proxy)`, which still reaches
 * the trap. Copies take their properties as descriptors rather than
 * inheriting from `fn`, so copies of functions built alike share one hidden
 * class across jobs (see docs/internals.md).
 */
export function functionForSubtask<F>(fn: F | PerSubtask<F>, method: string): F {
  if (isPerSubtask(fn)) {
    const instance = fn.create();
    if (typeof instance !== 'function' && typeof (instance as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new TypeError(`the perSubtask() factory must return a function or an object with ${method}(), got ${describeValue(instance)}`);
    }
    return instance;
  }
  if (typeof fn !== 'object' || fn === null) return fn;
  if (types.isProxy(fn)) return Object.create(fn) as F;
  return Object.defineProperties(Object.create(Object.getPrototypeOf(fn) as object | null) as object, Object.getOwnPropertyDescriptors(fn)) as F;
}

/** Where a user who wrote an async map, filter or flatMap should look instead. */
export const ASYNC_FUNCTIONS_HINT =
  'map, filter and flatMap run synchronously: call asynchronous services with AsyncDataStream from @tributary/async (see https://github.com/tributary-dev/tributary/blob/main/docs/async-batching.md#per-record-async-io)';

/** Fails on a record whose function returned a Promise (the job's error names the operator). */
export function returnedPromise(method: 'map' | 'filter' | 'flatMap'): never {
  throw new TypeError(`the ${method} function returned a Promise; ${ASYNC_FUNCTIONS_HINT}`);
}

/** A value `await` would wait for. */
export function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Whether a filter keeps a record its predicate answered with something
 * other than `true` or `false` (callers test those two first, so the hot
 * path pays one comparison): truthy keeps it, a thenable fails the job.
 */
export function keptBy(answer: unknown): boolean {
  if (isThenable(answer)) returnedPromise('filter');
  return Boolean(answer);
}
