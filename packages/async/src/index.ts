/**
 * @tributary/async: async I/O operators. The async batch operator
 * (`AsyncDataStream.unorderedWaitBatch` / `orderedWaitBatch` / `waitBatch`)
 * and per-record async I/O (`unorderedWait` / `orderedWait`), with retries,
 * timeouts, throttling, rate limits, dead letters and checkpointable state.
 * @packageDocumentation
 */
export {
  AsyncDataStream,
  asyncBatchOperatorFactory,
  asyncWaitOperatorFactory,
  type CollectBatchOptions,
  type PerItemBatchOptions,
} from './AsyncDataStream.js';
export type { AsyncBatchOptions, WaitBatchOptions, AsyncWaitOptions } from './options.js';
export type {
  AsyncBatchFunction,
  AsyncFunction,
  AsyncRecordFunction,
  BatchContext,
  BatchFunction,
  DeadLetter,
  FailurePolicy,
  Ordering,
  ResultFuture,
} from './functions.js';
export { ThrottledError, NonRetryableError, AsyncTimeoutError, AsyncBatchFailedError } from './errors.js';
export {
  RetryStrategies,
  type RetryStrategy,
  type RetryPredicates,
  type FixedDelayOptions,
  type ExponentialBackoffOptions,
} from './retry/RetryStrategies.js';
export type { RateLimit } from './retry/RateLimiter.js';
export { ASYNC_METRICS } from './metrics.js';
export { LruResultCache, type ResultCache, type LruResultCacheOptions } from './dedupe/ResultCache.js';
export type { AsyncOperatorListState, AsyncOperatorState, AsyncStateEntry } from './operators/AsyncBatchWaitOperator.js';
