import { brandClass, messageOf } from '@tributary/core';

/**
 * Errors of the async operators, and the two duck-typed conventions a batch
 * function uses to steer retries. Adapters need not import these classes:
 * any error with a numeric `retryAfterMs` is a throttling signal, and any
 * error with `retryable === false` is never retried.
 */

/**
 * The service asked to slow down. The operator waits `retryAfterMs` before
 * the retry (instead of the strategy's backoff), counts it in `throttled`,
 * and halves its concurrency limit (additive increase on later successes).
 *
 * @example
 * ```ts
 * if (response.status === 429) {
 *   throw new ThrottledError('rate limited', Number(response.headers.get('retry-after')) * 1000);
 * }
 * ```
 */
export class ThrottledError extends Error {
  static {
    brandClass(this, 'ThrottledError');
  }

  override readonly name: string = 'ThrottledError';
  constructor(
    message: string,
    /** How long the service asked to wait before the next attempt, in ms. */
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A failure that no retry can fix (a 400, a malformed record): the batch
 * skips the retry strategy and goes straight to splitting (when enabled)
 * or the failure policy.
 */
export class NonRetryableError extends Error {
  static {
    brandClass(this, 'NonRetryableError');
  }

  override readonly name: string = 'NonRetryableError';
  readonly retryable = false;
}

/**
 * An attempt ran out of time: its own `timeout` (`kind: 'attempt'`), or the
 * `deadline` that bounds all attempts of a batch (`kind: 'deadline'`).
 * The attempt's `ctx.signal` is aborted with this error as its reason.
 * A `timeout()` hook that does not complete within the time limit that ran
 * out before it fails its records with `kind: 'hook'`.
 */
export class AsyncTimeoutError extends Error {
  static {
    brandClass(this, 'AsyncTimeoutError');
  }

  override readonly name: string = 'AsyncTimeoutError';
  constructor(
    readonly kind: 'attempt' | 'deadline' | 'hook',
    /** The timeout or deadline that ran out, in ms. */
    readonly timeoutMs: number,
  ) {
    super(TIMEOUT_MESSAGES[kind](timeoutMs));
  }
}

const TIMEOUT_MESSAGES: Record<AsyncTimeoutError['kind'], (ms: number) => string> = {
  attempt: (ms) => `async call timed out after ${ms} ms`,
  deadline: (ms) => `deadline of ${ms} ms for all attempts exceeded`,
  hook: (ms) => `the timeout() hook did not complete within ${ms} ms`,
};

/**
 * What the `'fail'` policy fails the job with: how many records of how big
 * a batch gave up after how many attempts, and the last error as `cause`.
 */
export class AsyncBatchFailedError extends Error {
  static {
    brandClass(this, 'AsyncBatchFailedError');
  }

  override readonly name: string = 'AsyncBatchFailedError';
  constructor(
    /** Records that failed (all of the batch, or the failed items in per-item mode). */
    readonly failedRecords: number,
    /** Size of the batch they were last sent in. */
    readonly batchSize: number,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(
      `${failedRecords === batchSize ? `a batch of ${batchSize} record${batchSize === 1 ? '' : 's'}` : `${failedRecords} of ${batchSize} records in a batch`} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${messageOf(cause)}`,
      { cause },
    );
  }
}

/** The `retryAfterMs` hint of a throttling error, or `undefined`. */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && ms >= 0 && Number.isFinite(ms) ? ms : undefined;
}

/** False only for errors that say so (`retryable === false`). */
export function isRetryable(error: unknown): boolean {
  return typeof error !== 'object' || error === null || (error as { retryable?: unknown }).retryable !== false;
}
