import { InvalidJobError } from '../runtime/errors.js';

/**
 * Checks the options of an operator, a connector or an adapter when it is
 * created, which is when the job is built. Every failure is an
 * {@link InvalidJobError} that names the owner and the option:
 * `openAIEmbeddings: option 'dimensions' must be an integer >= 1, got 0`.
 *
 * Connectors outside this repository can use it too, so that their errors
 * read like the runtime's own.
 *
 * @example
 * ```ts
 * const check = new OptionChecker('mySink');
 * const batchSize = check.optionalInteger('batchSize', options.batchSize, 100);
 * ```
 */
export class OptionChecker {
  /** @param owner - what the options belong to, as the user wrote it (`unorderedWaitBatch()`, `redisStreamSource`). */
  constructor(readonly owner: string) {}

  fail(message: string): never {
    throw new InvalidJobError(`${this.owner}: ${message}`);
  }

  /** The options argument itself: an object. */
  object(options: unknown): Record<string, unknown> {
    if (typeof options !== 'object' || options === null) this.fail('needs an options object');
    return options as Record<string, unknown>;
  }

  /** Rejects option names outside `allowed` (a typo would otherwise be ignored silently). */
  known(options: Record<string, unknown>, allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(options)) {
      if (!allowed.has(key)) this.fail(`unknown option '${key}' (known: ${[...allowed].join(', ')})`);
    }
  }

  /** An integer >= `min` (default 1). */
  integer(name: string, value: unknown, min = 1): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      this.fail(`option '${name}' must be an integer >= ${min}, got ${describeValue(value)}`);
    }
    return value;
  }

  /**
   * An integer >= `min`, or `fallback` when the option is absent. Only
   * `undefined` means absent: `null` is a value, and a wrong one.
   */
  optionalInteger(name: string, value: unknown, fallback: number, min = 1): number {
    return this.integer(name, value === undefined ? fallback : value, min);
  }

  /** A finite number >= 0. */
  nonNegative(name: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      this.fail(`option '${name}' must be a finite number >= 0, got ${describeValue(value)}`);
    }
    return value;
  }

  /**
   * A duration in milliseconds: a finite number >= 0, > 0 with `positive`, a
   * whole number with `integer`. Never Infinity: an option that can be "off"
   * says how in `infinity`, which the message shows when Infinity is given.
   */
  duration(name: string, value: unknown, rules: DurationRules = {}): number {
    const { positive = false, integer = false, infinity } = rules;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0) || (integer && !Number.isInteger(value))) {
      const hint = value === Number.POSITIVE_INFINITY && infinity !== undefined ? ` (${infinity})` : '';
      this.fail(`option '${name}' must be a finite ${integer ? 'whole ' : ''}number of milliseconds ${positive ? '> 0' : '>= 0'}, got ${describeValue(value)}${hint}`);
    }
    return value;
  }

  /**
   * A duration (see {@link OptionChecker.duration}), or `fallback` when the
   * option is absent; `fallback` is not checked, so Infinity can mean "none".
   */
  optionalDuration(name: string, value: unknown, fallback: number, rules: DurationRules = {}): number {
    return value === undefined ? fallback : this.duration(name, value, rules);
  }

  /** One of the strings in `allowed`; `fallback`, when given, stands for an absent option. */
  oneOf<const T extends string>(name: string, value: unknown, allowed: readonly T[], fallback?: T): T {
    const given = value === undefined ? fallback : value;
    if (!(allowed as readonly unknown[]).includes(given)) {
      const choices = allowed.map(describeValue);
      const list = choices.length === 1 ? choices[0] : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
      this.fail(`option '${name}' must be ${list}, got ${describeValue(given)}`);
    }
    return given as T;
  }

  /** One of the strings in `allowed`, or absent. */
  optionalOneOf<const T extends string>(name: string, value: unknown, allowed: readonly T[]): T | undefined {
    return value === undefined ? undefined : this.oneOf(name, value, allowed);
  }

  func<T>(name: string, value: T): T {
    if (typeof value !== 'function') this.fail(`option '${name}' must be a function, got ${describeValue(value)}`);
    return value;
  }

  /** A function, or absent. */
  optionalFunc<T>(name: string, value: T): T {
    return value === undefined ? value : this.func(name, value);
  }

  nonEmptyString(name: string, value: unknown): string {
    if (typeof value !== 'string' || value === '') this.fail(`option '${name}' must be a non-empty string, got ${describeValue(value)}`);
    return value;
  }

  optionalString(name: string, value: unknown): string | undefined {
    return value === undefined ? undefined : this.nonEmptyString(name, value);
  }

  /** A plain object (not an array), or absent. */
  record(name: string, value: unknown): Readonly<Record<string, unknown>> | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`option '${name}' must be an object, got ${describeValue(value)}`);
    return value as Record<string, unknown>;
  }
}

/** What {@link OptionChecker.duration} accepts beyond a finite number of milliseconds >= 0. */
export interface DurationRules {
  /** 0 is rejected (a timeout of 0 could never succeed). */
  readonly positive?: boolean;
  /** Only whole milliseconds (a value sent to a server that takes integers). */
  readonly integer?: boolean;
  /** How to ask for "never" instead, shown when Infinity is given: `'leave it out for no timeout'`. */
  readonly infinity?: string;
}

/** A value as an error message shows it: strings quoted, functions, arrays and objects by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'symbol' ? value.toString() : `${value as number | boolean | bigint | undefined}`;
}
