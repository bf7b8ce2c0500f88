/** Why a {@link FakeServiceError} was raised: which script (or the handler) failed the call or item. */
export type FakeFailureReason = 'failCalls' | 'failRecords' | 'failureRate' | 'item' | 'handler';

/** A failure the `FakeBatchService` was scripted to produce; the message names the call (and the record or item). */
export class FakeServiceError extends Error {
  override readonly name = 'FakeServiceError';
  constructor(
    message: string,
    /** The 1-based number of the failed call. */
    readonly callId: number,
    readonly reason: FakeFailureReason,
  ) {
    super(message);
  }
}

/**
 * The service is overloaded: retry after `retryAfterMs` (an HTTP 429 with a
 * `Retry-After` header). Async operators read the numeric `retryAfterMs`
 * property to delay their retry, as they do for `@tributary/async`'s
 * `ThrottledError`, which a real service's client throws: this one also
 * names the fake's call, and its own name keeps the two apart.
 */
export class FakeThrottledError extends Error {
  override readonly name = 'FakeThrottledError';
  constructor(
    message: string,
    /** The 1-based number of the throttled call. */
    readonly callId: number,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The caller aborted the call (its `AbortSignal` fired); `cause` is the signal's reason. Named `AbortError`, like `fetch`'s. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}
