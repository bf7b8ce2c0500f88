import { InvalidJobError } from '@tributary/core';

/**
 * Checks of adapter options. They throw `InvalidJobError` when the adapter is
 * created, which is when the stream is built, naming the adapter and the option.
 */
export class OptionChecker {
  constructor(private readonly adapter: string) {}

  fail(message: string): never {
    throw new InvalidJobError(`${this.adapter}: ${message}`);
  }

  nonEmptyString(name: string, value: unknown): string {
    if (typeof value !== 'string' || value === '') this.fail(`option '${name}' must be a non-empty string, got ${describe(value)}`);
    return value;
  }

  optionalString(name: string, value: unknown): string | undefined {
    return value === undefined ? undefined : this.nonEmptyString(name, value);
  }

  positiveInteger(name: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(`option '${name}' must be an integer >= 1, got ${describe(value)}`);
    return value;
  }

  nonNegative(name: string, value: unknown): number {
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) this.fail(`option '${name}' must be a finite number >= 0, got ${describe(value)}`);
    return value;
  }

  func<T>(name: string, value: T): T {
    if (typeof value !== 'function') this.fail(`option '${name}' must be a function, got ${describe(value)}`);
    return value;
  }

  record(name: string, value: unknown): Readonly<Record<string, unknown>> | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`option '${name}' must be an object, got ${describe(value)}`);
    return value as Record<string, unknown>;
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'symbol' ? value.toString() : `${value as number | boolean | bigint | undefined}`;
}
