/** Marks an error as one a retry cannot fix (`retryable: false`, `@tributary/async`'s convention). */
export function nonRetryable<E extends Error>(error: E): E & { readonly retryable: false } {
  return Object.assign(error, { retryable: false as const });
}
