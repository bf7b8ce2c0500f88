/**
 * Makes `instanceof` see instances made by another installed copy of the
 * package that defines `target`.
 *
 * A package manager installs a second copy of `@tributary/core` (or
 * `@tributary/async`) beside an adapter whose range the first copy does not
 * satisfy; each copy has its own classes, so a plain `instanceof` rejects the
 * other copy's objects. `brandClass` marks `target.prototype` with
 * `Symbol.for('tributary.<name>')`, one symbol shared by every copy, and gives
 * `target` a static `Symbol.hasInstance` that looks for that mark. Subclasses
 * without a brand of their own keep the ordinary prototype check.
 *
 * @example
 * ```ts
 * class QuotaError extends Error {
 *   static {
 *     brandClass(this, 'my-adapter.QuotaError');
 *   }
 * }
 * ```
 */
export function brandClass(target: abstract new (...args: never[]) => object, name: string): void {
  const brand = Symbol.for(`tributary.${name}`);
  Object.defineProperty(target.prototype, brand, { value: true });
  Object.defineProperty(target, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this !== target) return Function.prototype[Symbol.hasInstance].call(this, value);
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
    },
  });
}
