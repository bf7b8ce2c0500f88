/**
 * An error as it can cross to another thread. A `DOMException` (the
 * `AbortError` of `fetch` or `AbortSignal.timeout()`, a `DataCloneError`)
 * arrives as `{}` on Node 20, so it crosses as an `Error` with its name,
 * message and stack; anything else crosses as it is.
 */
export function crossableError(error: unknown): unknown {
  if (!(error instanceof DOMException)) return error;
  return Object.assign(new Error(error.message), { name: error.name, stack: error.stack });
}
