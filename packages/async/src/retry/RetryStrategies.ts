import { describeValue, OptionChecker, seededRandom } from '@tributary/core';

/**
 * When and how often a failed attempt is retried (Flink's `AsyncRetryStrategy`).
 * Build one with {@link RetryStrategies}.
 *
 * An error with `retryable === false` is never retried, whatever the
 * strategy says; an error with `retryAfterMs` waits that long instead of
 * {@link RetryStrategy.backoff}. The operator's `deadline` bounds all attempts.
 */
export interface RetryStrategy<TOut = unknown> {
  /** Attempts in total, the first included (1 = never retry). */
  readonly maxAttempts: number;
  /** Milliseconds to wait after failed attempt number `attempt` (1-based) before the next one: a finite number >= 0, or the operator fails. */
  backoff(attempt: number): number;
  /** Whether `error`, thrown by attempt number `attempt`, is worth a retry. */
  retryOnError(error: unknown, attempt: number): boolean;
  /**
   * Whether a successful result should be retried anyway (an empty answer,
   * a "not ready" marker). Per-item mode asks per item, with `[output]`.
   * When no attempt is left, the last result is emitted.
   */
  retryOnResult(outputs: readonly TOut[]): boolean;
}

/** Predicates shared by every strategy. */
export interface RetryPredicates<TOut = unknown> {
  /** Default: retry every error. */
  readonly retryOnError?: ((error: unknown, attempt: number) => boolean) | undefined;
  /** Default: never retry a result. */
  readonly retryOnResult?: ((outputs: readonly TOut[]) => boolean) | undefined;
}

/** Options of {@link RetryStrategies.fixedDelay}. */
export interface FixedDelayOptions<TOut> extends RetryPredicates<TOut> {
  /** Attempts in total, the first included; at least 1. */
  readonly maxAttempts: number;
  /** Wait between attempts, in ms. */
  readonly delayMs: number;
}

/** Options of {@link RetryStrategies.exponentialBackoff}. */
export interface ExponentialBackoffOptions<TOut> extends RetryPredicates<TOut> {
  /** Attempts in total, the first included; at least 1. */
  readonly maxAttempts: number;
  /** Wait after the first failure, in ms. */
  readonly initialDelayMs: number;
  /** Upper bound of the wait (before jitter), in ms. */
  readonly maxDelayMs: number;
  /** Growth factor per attempt. Default 2. */
  readonly multiplier?: number | undefined;
  /**
   * Fraction of the wait that is random, in [0, 1]: the wait is drawn from
   * `[d * (1 - jitter), d]`. 1 is "full jitter". Default 0.
   */
  readonly jitter?: number | undefined;
  /** Random numbers in [0, 1) for the jitter (any other value fails the backoff). Default: `seed` if given, else `Math.random`. */
  readonly random?: (() => number) | undefined;
  /** Seeds a deterministic generator for the jitter (tests, reproducible runs). */
  readonly seed?: number | undefined;
}

const PREDICATES = ['retryOnError', 'retryOnResult'];
const FIXED_DELAY_OPTIONS = ['maxAttempts', 'delayMs', ...PREDICATES];
const EXPONENTIAL_BACKOFF_OPTIONS = ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'multiplier', 'jitter', 'random', 'seed', ...PREDICATES];

const retryAll = (): boolean => true;
const retryNoResult = (): boolean => false;

/**
 * Factories for {@link RetryStrategy}: `none()`, `fixedDelay(...)` and
 * `exponentialBackoff(...)`, each with optional error and result predicates.
 *
 * @example
 * ```ts
 * const retry = RetryStrategies.exponentialBackoff({
 *   maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 5_000, jitter: 0.5,
 *   retryOnError: (err) => !(err instanceof TypeError),
 * });
 * ```
 */
export const RetryStrategies = {
  /** Never retry (the default). */
  none(): RetryStrategy<never> {
    return { maxAttempts: 1, backoff: () => 0, retryOnError: () => false, retryOnResult: retryNoResult };
  },

  /** Retry after the same wait each time. */
  fixedDelay<TOut = unknown>(options: FixedDelayOptions<TOut>): RetryStrategy<TOut> {
    const check = new OptionChecker('RetryStrategies.fixedDelay()');
    check.known(check.object(options), FIXED_DELAY_OPTIONS);
    const maxAttempts = attempts(check, options.maxAttempts);
    const delayMs = check.duration('delayMs', options.delayMs);
    return {
      maxAttempts,
      backoff: () => delayMs,
      ...predicates(check, options),
    };
  },

  /** Retry after waits that grow by `multiplier` up to `maxDelayMs`, with optional jitter. */
  exponentialBackoff<TOut = unknown>(options: ExponentialBackoffOptions<TOut>): RetryStrategy<TOut> {
    const check = new OptionChecker('RetryStrategies.exponentialBackoff()');
    check.known(check.object(options), EXPONENTIAL_BACKOFF_OPTIONS);
    const maxAttempts = attempts(check, options.maxAttempts);
    const initial = check.duration('initialDelayMs', options.initialDelayMs);
    const max = check.duration('maxDelayMs', options.maxDelayMs);
    if (max < initial) check.fail(`option 'maxDelayMs' (${max}) must be >= initialDelayMs (${initial})`);
    const multiplier = check.optionalNumber('multiplier', options.multiplier, { min: 1 }) ?? 2;
    const jitter = check.optionalNumber('jitter', options.jitter, { min: 0, max: 1 }) ?? 0;
    check.optionalFunc('random', options.random);
    check.optionalNumber('seed', options.seed, {});
    if (options.random !== undefined && options.seed !== undefined) check.fail(`options 'random' and 'seed' both choose the jitter's numbers: give one`);
    const random = options.random ?? (options.seed === undefined ? Math.random : seededRandom(options.seed));
    return {
      maxAttempts,
      backoff: (attempt) => {
        // Past ~1,000 attempts the power overflows to Infinity, and 0 * Infinity is NaN: a 0 delay stays 0.
        const base = initial === 0 ? 0 : Math.min(max, initial * multiplier ** (attempt - 1));
        if (jitter === 0) return base;
        // Checked at each draw (drawing at build time would shift a user's sequence): 5 gave a negative wait, undefined NaN.
        const r = random();
        if (!(typeof r === 'number' && r >= 0 && r < 1)) throw new RangeError(`${check.owner}: option 'random' must return a number in [0, 1), got ${describeValue(r)}`);
        return base * (1 - jitter * r);
      },
      ...predicates(check, options),
    };
  },
} as const;

function predicates<TOut>(check: OptionChecker, options: RetryPredicates<TOut>): Pick<RetryStrategy<TOut>, 'retryOnError' | 'retryOnResult'> {
  return {
    retryOnError: check.optionalFunc('retryOnError', options.retryOnError) ?? retryAll,
    retryOnResult: check.optionalFunc('retryOnResult', options.retryOnResult) ?? retryNoResult,
  };
}

/** `maxAttempts`, with what it counts in the message: users often read it as retries. */
function attempts(check: OptionChecker, maxAttempts: unknown): number {
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1) {
    check.fail(`option 'maxAttempts' (attempts in total, the first included) must be an integer >= 1, got ${describeValue(maxAttempts)}`);
  }
  return check.integer('maxAttempts', maxAttempts);
}
