import type { Key } from '@tributary/core';
import type { FailurePolicy, Ordering } from './functions.js';
import type { ResultCache } from './dedupe/ResultCache.js';
import type { RateLimit } from './retry/RateLimiter.js';
import type { RetryStrategy } from './retry/RetryStrategies.js';

/**
 * Options of the batch operators (`unorderedWaitBatch`, `orderedWaitBatch`,
 * `waitBatch`). Every option is checked when the stream is built; a bad one
 * throws an `InvalidJobError` naming the option and the operator.
 * Durations are milliseconds of the environment's clock.
 */
export interface AsyncBatchOptions<TIn, TOut> {
  /** A batch is sent when it holds this many records. Required, >= 1. */
  readonly maxBatchSize: number;
  /**
   * A batch is sent this long after its **first** record arrived, even if not
   * full. 0 or absent: only size, weight, capacity and end of input send a batch.
   */
  readonly maxBatchDelay?: number | undefined;
  /**
   * A batch is sent before its total weight (by `weigher`) would exceed this
   * budget (tokens, bytes). A record heavier than the budget travels alone.
   * Needs `weigher`.
   */
  readonly maxBatchWeight?: number | undefined;
  /** The weight of a record: a finite number >= 0. Needs `maxBatchWeight`. */
  readonly weigher?: ((input: TIn) => number) | undefined;
  /**
   * Keeps a separate batch per key (model, tenant, length bucket), each with
   * its own size, weight and delay triggers. Keys compare like `Map` keys.
   */
  readonly batchKey?: ((input: TIn) => unknown) | undefined;
  /**
   * Adaptive batching: the operator chooses each batch's size and wait from
   * the calls it observes (their sizes and durations), to send the most
   * records per second the service allows; `maxBatchSize`, `maxBatchWeight`
   * and `maxBatchDelay` (then required) become bounds it never passes. With
   * `targetLatency` (ms), batches stay small enough that a record's time from
   * arrival to emit stays under it. The concurrency of calls stays
   * `maxInFlightBatches`' and the throttling limiter's. What it learned is
   * checkpointed. Default: off (fixed triggers).
   */
  readonly adaptive?: boolean | { readonly targetLatency?: number | undefined } | undefined;
  /**
   * No second call for the same input (`per-item` mode only): inputs of a
   * batch with the same `key` are sent once and the result handed to each;
   * with `cache`, results are kept by key and repeats are answered without a
   * call. `cache` is `{ maxEntries, ttl? }` (an in-memory LRU per subtask,
   * `ttl` in ms) or any {@link ResultCache} (shared, e.g. Redis-backed).
   * Failed items are not cached, nor results `retry.retryOnResult` rejects
   * (so its retries reach the function). When outputs carry their input
   * (an id: `{ ...doc, vector }`), `withInput(result, input)` makes each
   * input's output from the result shared by its key. Metrics: `cacheHits`,
   * `cacheMisses`, `dedupedRecords`, `cacheErrors`.
   */
  readonly dedupe?:
    | {
        readonly key: (input: TIn) => string;
        readonly withInput?: ((result: TOut, input: TIn) => TOut) | undefined;
        readonly cache?: ResultCache<TOut> | { readonly maxEntries: number; readonly ttl?: number | undefined } | undefined;
      }
    | undefined;
  /** Calls in flight at once, per subtask. Default 1. */
  readonly maxInFlightBatches?: number | undefined;
  /**
   * Records held per subtask: buffered, in flight, waiting for a retry, or
   * (ordered modes) completed but waiting for earlier ones. At capacity the
   * operator stops reading input (backpressure). Must be >= maxBatchSize.
   * Default `2 * maxBatchSize * maxInFlightBatches`, at most 2^53 - 1; with `adaptive`, at most
   * `(maxInFlightBatches + 1)` times the chosen size.
   */
  readonly capacity?: number | undefined;
  /** Time limit of one attempt; it aborts `ctx.signal` with an `AsyncTimeoutError`. Default: none. */
  readonly timeout?: number | undefined;
  /** Time limit of all attempts of a batch, from its first call. Default: none. */
  readonly deadline?: number | undefined;
  /** When to retry a failed attempt. Default: `RetryStrategies.none()`. */
  readonly retry?: RetryStrategy<TOut> | undefined;
  /**
   * `collect` (default, Flink's): a call returns any number of outputs for the
   * batch. `per-item`: outputs[i] is the result of inputs[i]; an `Error` at i
   * fails that item only, and only failed items are retried (in a later batch).
   * `key-ordered` needs `per-item`. In `ordered` collect mode a batch's
   * outputs take the place of its first record.
   */
  readonly resultMode?: 'collect' | 'per-item' | undefined;
  /** What happens to records whose attempts are exhausted. Default `'fail'`. */
  readonly onFailure?: FailurePolicy<TIn, TOut> | undefined;
  /**
   * Bisects a batch that failed for good (retries exhausted, or not
   * retryable) and sends the halves again, down to single records, so only
   * the poison records reach `onFailure`. Halves start with fresh attempts
   * and deadline. Not applied to deadline expiry. Default false.
   */
  readonly splitOnFailure?: boolean | undefined;
  /** Limits calls (requests) and records (items) per second, per subtask. */
  readonly rateLimit?: RateLimit | undefined;
  /** `key-ordered` only: the key to keep order by when the input is not a `KeyedStream`. */
  readonly orderKey?: ((input: TIn) => Key) | undefined;
}

/** Options of {@link AsyncDataStream.waitBatch}: the batch options plus the ordering. */
export interface WaitBatchOptions<TIn, TOut> extends AsyncBatchOptions<TIn, TOut> {
  /** Default `unordered`. */
  readonly ordering?: Ordering | undefined;
}

/**
 * Options of the per-record operators (`unorderedWait`, `orderedWait`),
 * Flink's `AsyncWaitOperator`. Validated when the stream is built.
 */
export interface AsyncWaitOptions<TIn, TOut> {
  /**
   * Flink's timeout: the time a record may take, over all its attempts.
   * When it passes, the function's `timeout()` hook decides the result, or
   * the record goes to `onFailure`. A retry whose delay would end after it
   * is not made: the record waits for the timeout, as in Flink. Default: none.
   */
  readonly timeout?: number | undefined;
  /** Time limit of one attempt (then retried by `retry`). Default: none. */
  readonly attemptTimeout?: number | undefined;
  /** Records in flight or waiting to be emitted (Flink's queue capacity). Default 100. */
  readonly capacity?: number | undefined;
  /**
   * When to retry a failed attempt. Default: `RetryStrategies.none()`. As in
   * Flink, at end of input each waiting retry fires at once and is the
   * record's last attempt, and an attempt in flight is the last too.
   */
  readonly retry?: RetryStrategy<TOut> | undefined;
  /** What happens to records whose attempts are exhausted. Default `'fail'`. */
  readonly onFailure?: FailurePolicy<TIn, TOut> | undefined;
  /** Limits calls per second (`requestsPerSecond`; `itemsPerSecond` is the same here). */
  readonly rateLimit?: RateLimit | undefined;
}
