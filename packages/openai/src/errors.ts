/**
 * Errors of the OpenAI adapters. They follow the duck-typed conventions of
 * `@tributary/async`'s batch operators, so no import of that package is needed
 * to steer its retries: an error with a numeric `retryAfterMs` is a throttling
 * signal (the operator waits that long and lowers its concurrency), and an
 * error with `retryable === false` is never retried (it goes to splitting, when
 * enabled, or to the failure policy).
 */

/**
 * The endpoint answered with an HTTP error status.
 *
 * | status | `retryable` | `retryAfterMs` |
 * |---|---|---|
 * | 429, 503 | true | from `retry-after-ms` or `Retry-After` (seconds or HTTP date), else the adapter's `defaultRetryAfterMs`; capped at `maxRetryAfterMs` |
 * | other 4xx | false | undefined |
 * | other 5xx | true | undefined |
 *
 * @example
 * ```ts
 * try {
 *   await embed(['hello']);
 * } catch (error) {
 *   if (error instanceof OpenAIHttpError && error.status === 401) console.error('check OPENAI_API_KEY');
 * }
 * ```
 */
export class OpenAIHttpError extends Error {
  override readonly name: string = 'OpenAIHttpError';
  /** False for 4xx other than 429: sending the same request again cannot succeed. */
  readonly retryable: boolean;
  /** How long to wait before the next attempt (429 and 503 only), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    /** The URL that was called. */
    readonly url: string,
    /** The HTTP status, e.g. 429. */
    readonly status: number,
    /** The error message the server gave (OpenAI's `error.message`, or the body text), possibly empty. */
    readonly serverMessage: string,
    /** The response body: parsed JSON when it was JSON, else the text. */
    readonly body: unknown,
    retryAfterMs: number | undefined,
  ) {
    super(`POST ${url} answered ${status}${serverMessage === '' ? '' : `: ${serverMessage}`}`);
    this.retryAfterMs = retryAfterMs;
    this.retryable = status === 429 || status >= 500;
  }
}

/**
 * The endpoint answered 2xx, but not with what the adapter asked for: a body
 * that is not JSON, misses fields, or holds a different number of results (or
 * other indices) than the batch had inputs. Not retryable: the same request
 * would get the same answer (with `splitOnFailure`, smaller batches may pass).
 */
export class OpenAIResponseError extends Error {
  override readonly name: string = 'OpenAIResponseError';
  readonly retryable = false;

  constructor(
    /** The URL that was called. */
    readonly url: string,
    /** What was wrong with the answer. */
    problem: string,
    /** The response body: parsed JSON when it was JSON, else the text. */
    readonly body: unknown,
  ) {
    super(`POST ${url} answered with an unusable response: ${problem}`);
  }
}

/**
 * The request did not get an answer: connection refused or reset, DNS failure.
 * Retryable. The original error is the `cause`. (A request cancelled through
 * `ctx.signal` rejects with the signal's reason instead.)
 */
export class OpenAIConnectionError extends Error {
  override readonly name: string = 'OpenAIConnectionError';

  constructor(
    /** The URL that was called. */
    readonly url: string,
    cause: unknown,
  ) {
    super(`POST ${url} failed: ${describeCause(cause)}`, { cause });
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
}
