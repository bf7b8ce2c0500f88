import type { Logger } from '../logging/Logger.js';
import type { Clock } from '../runtime/Clock.js';
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
    if (typeof options !== 'object' || options === null || Array.isArray(options)) this.fail(`needs an options object, got ${describeValue(options)}`);
    return options as Record<string, unknown>;
  }

  /**
   * Rejects option names outside `allowed` (a typo would otherwise be ignored
   * silently), suggesting the nearest known name. `parent` names the option
   * that holds a nested options object (`rateLimit`).
   */
  known(options: Record<string, unknown>, allowed: Iterable<string>, parent?: string): void {
    const names = [...allowed];
    for (const key of Object.keys(options)) {
      if (names.includes(key)) continue;
      const guess = nearestName(key, names);
      const hint = guess === undefined ? '' : `; did you mean '${parent === undefined ? '' : `${parent}.`}${guess}'?`;
      const known = names.length === 0 ? 'none' : names.join(', ');
      this.fail(`unknown option '${parent === undefined ? '' : `${parent}.`}${key}'${hint} (known${parent === undefined ? '' : ` in '${parent}'`}: ${known})`);
    }
  }

  /**
   * An integer >= `min` (default 1) and <= `max`: by default a safe integer,
   * since a count beyond 2^53 is a mistake and no longer exact.
   */
  integer(name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max !== Number.MAX_SAFE_INTEGER ? `in [${min}, ${max}]` : typeof value === 'number' && value > max ? `<= ${max}` : `>= ${min}`;
      this.fail(`option '${name}' must be an integer ${range}, got ${describeValue(value)}`);
    }
    return value;
  }

  /**
   * An integer >= `min`, or `fallback` when the option is absent. Only
   * `undefined` means absent: `null` is a value, and a wrong one.
   */
  optionalInteger(name: string, value: unknown, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    return this.integer(name, value === undefined ? fallback : value, min, max);
  }

  /**
   * A finite number within `bounds` (a weight, a rate, a ratio, a
   * multiplier): `above` is an exclusive lower bound, `min` and `max` inclusive.
   */
  number(name: string, value: unknown, bounds: NumberBounds): number {
    const { min, above, max } = bounds;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (min === undefined || value >= min) &&
      (above === undefined || value > above) &&
      (max === undefined || value <= max);
    if (!ok) this.fail(`option '${name}' must be a finite number${describeBounds(bounds)}, got ${describeValue(value)}`);
    return value;
  }

  /** A finite number within `bounds`, or absent. */
  optionalNumber(name: string, value: unknown, bounds: NumberBounds): number | undefined {
    return value === undefined ? undefined : this.number(name, value, bounds);
  }

  /** A {@link Clock} (anything with `now()` and `schedule()`: duck-typed, so a second copy of this package works too), or absent. */
  optionalClock(name: string, value: unknown): Clock | undefined {
    const clock = value as Partial<Clock> | null | undefined;
    if (clock !== undefined && (typeof clock?.now !== 'function' || typeof clock.schedule !== 'function')) {
      this.fail(`option '${name}' must be a Clock (an object with now() and schedule()), got ${describeValue(value)}`);
    }
    return clock as Clock | undefined;
  }

  /** A {@link Logger} (an object with debug(), info(), warn() and error(): `console`, winston, pino through `fieldsFirst`), or absent. */
  optionalLogger(name: string, value: unknown): Logger | undefined {
    const logger = value as Partial<Logger> | null | undefined;
    if (logger === undefined) return undefined;
    const missing = LOG_METHODS.filter((method) => typeof logger?.[method] !== 'function');
    if (missing.length > 0) {
      const lacks = typeof logger === 'object' && logger !== null ? ` without ${missing.map((m) => `${m}()`).join(', ')}` : '';
      this.fail(`option '${name}' must be a Logger (an object with debug(), info(), warn() and error()), got ${describeValue(value)}${lacks}`);
    }
    return logger as Logger;
  }

  /**
   * An object with every one of `methods` (duck-typed, so a second copy of
   * this package works too), or absent. `expected` says what it must be (`a
   * MetricRegistry`); the message lists the methods it lacks, which the
   * runtime would otherwise find missing only when the job runs.
   */
  optionalImplementation<T>(name: string, value: unknown, expected: string, methods: readonly string[]): T | undefined {
    if (value === undefined) return undefined;
    const missing = methods.filter((method) => typeof (value as Record<string, unknown> | null)?.[method] !== 'function');
    if (missing.length > 0) {
      const lacks = typeof value === 'object' && value !== null ? ` without ${missing.map((m) => `${m}()`).join(', ')}` : '';
      this.fail(`option '${name}' must be ${expected}, got ${describeValue(value)}${lacks}`);
    }
    return value as T;
  }

  /** `true` or `false`, or absent. */
  optionalBoolean(name: string, value: unknown): boolean | undefined {
    if (value !== undefined && typeof value !== 'boolean') this.fail(`option '${name}' must be true or false, got ${describeValue(value)}`);
    return value;
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

  /**
   * A plain object (not an array), or absent. With `allowed`, a nested
   * options object: its names are checked like the outer ones.
   */
  record(name: string, value: unknown, allowed?: Iterable<string>): Readonly<Record<string, unknown>> | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`option '${name}' must be an object, got ${describeValue(value)}`);
    if (allowed !== undefined) this.known(value as Record<string, unknown>, allowed, name);
    return value as Record<string, unknown>;
  }
}

const LOG_METHODS = ['debug', 'info', 'warn', 'error'] as const;

/** What {@link OptionChecker.duration} accepts beyond a finite number of milliseconds >= 0. */
export interface DurationRules {
  /** 0 is rejected (a timeout of 0 could never succeed). */
  readonly positive?: boolean;
  /** Only whole milliseconds (a value sent to a server that takes integers). */
  readonly integer?: boolean;
  /** How to ask for "never" instead, shown when Infinity is given: `'leave it out for no timeout'`. */
  readonly infinity?: string;
}

/** Bounds of {@link OptionChecker.number}. */
export interface NumberBounds {
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
}

function describeBounds({ min, above, max }: NumberBounds): string {
  const low = above !== undefined ? ` > ${above}` : min !== undefined ? ` >= ${min}` : '';
  if (max === undefined) return low;
  if (min !== undefined && above === undefined) return ` in [${min}, ${max}]`;
  return low === '' ? ` <= ${max}` : `${low} and <= ${max}`;
}

/** The known name a misspelled one most likely meant: same letters ignoring case, or a few edits away. */
export function nearestName(given: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(given.toLowerCase(), name.toLowerCase());
    // About one edit per three letters: 'delay' finds 'delayMs', 'rps' finds nothing.
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(given.length, name.length) / 3)));
    if (distance <= limit && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap of neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] as number;
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
