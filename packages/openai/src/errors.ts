/**
 * Errors of the OpenAI adapters. They follow the duck-typed conventions of
 * `@tributary/async`'s batch operators, so no import of that package is needed
 * to steer its retries: an error with a numeric `retryAfterMs` is a throttling
 * signal (the operator waits that long and lowers its concurrency), and an
 * error with `retryable === false` is never retried (it goes to splitting, when
 * enabled, or to the failure policy).
 *
 * No error shows a secret: the API key, the values of `headers` (of 4
 * characters or more; also the credentials after an auth scheme word, and a
 * `Basic` header's decoded `user:password`) and the base URL's query values
 * are replaced by `[redacted]` in messages, URLs, server messages and bodies,
 * also when the server echoes them back.
 */
import { messageOf } from '@tributary/core';

/**
 * The endpoint answered with an HTTP error status.
 *
 * | status | `retryable` | `retryAfterMs` |
 * |---|---|---|
 * | 429, 503 | true | from `retry-after-ms` or `Retry-After` (seconds or HTTP date; the first value of a header sent twice), else the adapter's `defaultRetryAfterMs`; capped at `maxRetryAfterMs` |
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
    /** The URL that was called (query values redacted). */
    readonly url: string,
    /** The HTTP status, e.g. 429. */
    readonly status: number,
    /**
     * The error message the server gave (OpenAI's `error.message`, or the body
     * text), possibly empty; cut to 1000 characters, with the body's size.
     * A body the connection cut off ends with `(the body was cut off: ...)`.
     */
    readonly serverMessage: string,
    /** The response body: parsed JSON when it was JSON, else the text; only its first 64 KiB are read. */
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
 * that is not JSON, misses fields, holds a different number of results (or
 * other indices) than the batch had inputs, or is larger than
 * `maxResponseBytes`. Not retryable: the same request would get the same
 * answer (with `splitOnFailure`, smaller batches may pass).
 */
export class OpenAIResponseError extends Error {
  override readonly name: string = 'OpenAIResponseError';
  readonly retryable = false;

  constructor(
    /** The URL that was called (query values redacted). */
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
 * The endpoint answered with a redirect the adapter does not follow, so the
 * request (documents, API key, headers) was not sent on: a redirect to
 * another origin (scheme, host or port), a 301, 302 or 303 (which would turn
 * the POST into a GET), or more than 5 redirects in a row. Same-origin 307 and
 * 308 redirects are followed. Not retryable: point `baseUrl` at the final URL
 * if you trust that server.
 *
 * @example
 * ```ts
 * const error = await embed(['hello']).catch((e: unknown) => e);
 * if (error instanceof OpenAIRedirectError) console.error(`the API moved to ${error.location}: update baseUrl if you trust it`);
 * ```
 */
export class OpenAIRedirectError extends Error {
  override readonly name: string = 'OpenAIRedirectError';
  readonly retryable = false;

  constructor(
    /** The URL that was called (query values redacted). */
    readonly url: string,
    /** The redirect status, e.g. 307. */
    readonly status: number,
    /** Where the server redirected to: only the origin when it is another one, never credentials or query values. */
    readonly location: string,
    /** Why it was not followed. */
    reason: string,
  ) {
    super(`POST ${url} answered ${status}, a redirect to ${location}: not followed, ${reason}`);
  }
}

/**
 * The request did not get an answer: connection refused or reset, DNS failure,
 * or a connection that broke while a 2xx body was read (an error status whose
 * body breaks off is an {@link OpenAIHttpError} all the same). Retryable. The original
 * error is the `cause` (a redacted copy if its message held a secret). (A
 * request cancelled through `ctx.signal` rejects with the signal's reason
 * instead.)
 */
export class OpenAIConnectionError extends Error {
  override readonly name: string = 'OpenAIConnectionError';

  constructor(
    /** The URL that was called (query values redacted). */
    readonly url: string,
    cause: unknown,
  ) {
    super(`POST ${url} failed: ${describeCause(cause)}`, { cause });
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return messageOf(cause);
  const inner = (cause as { cause?: unknown }).cause;
  return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
}
