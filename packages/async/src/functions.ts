import type { MetricGroup, OutputTag, PerSubtask, RuntimeContext } from '@tributary/core';

/**
 * What a batch function gets besides its inputs.
 *
 * Pass `signal` to your client (`fetch(url, { signal })`): it is aborted when
 * the attempt times out, the deadline passes, or the job is cancelled or
 * fails, so abandoned calls stop using the service.
 */
export interface BatchContext {
  /** Aborted (with an {@link AsyncTimeoutError} or the job's reason) when this attempt is abandoned. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /**
   * The operator subtask's metric group: counters the function keeps (an
   * adapter's token usage) sit with the operator's metrics. The operators
   * always pass it; optional so a function can be called by hand with `{ signal, attempt }`.
   */
  readonly metrics?: MetricGroup | undefined;
}

/**
 * Flink's `ResultFuture`: completes one attempt. The first call wins; later
 * calls (and a completion after a timeout) are ignored.
 */
export interface ResultFuture<TOut> {
  complete(outputs: readonly TOut[]): void;
  completeExceptionally(error: unknown): void;
}

/**
 * Flink's `AsyncBatchFunction`: calls a service with a batch of inputs and
 * completes `resultFuture` with the outputs (any number in `collect` mode,
 * exactly one per input in `per-item` mode).
 *
 * `open` runs once per subtask before the first batch (create clients
 * there), `close` after the last. Give it as a factory,
 * `perSubtask(() => new MyBatchFunction())`, for an instance per subtask; a
 * plain object is copied per subtask, shallowly (fields set in `open` are
 * then per subtask, objects they already held are shared).
 * `timeout` is Flink's timeout hook: it is called once when a batch gives
 * up because of time (its deadline passed, or its last allowed attempt timed
 * out) and decides the batch's result: `complete(fallbackOutputs)` emits
 * them, `completeExceptionally(error)` hands `error` to the failure policy.
 * Without it, the timeout goes to the failure policy. The hook gets as long
 * as the limit that ran out (that `timeout` or `deadline` again): if it has
 * not completed by then, its records go to the failure policy with an
 * `AsyncTimeoutError` of kind `'hook'`, so a hook that never completes
 * cannot hold a job for ever.
 */
export interface AsyncBatchFunction<TIn, TOut> {
  asyncInvokeBatch(inputs: readonly TIn[], resultFuture: ResultFuture<TOut>, ctx: BatchContext): void | Promise<void>;
  open?(ctx: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
  timeout?(inputs: readonly TIn[], resultFuture: ResultFuture<TOut>): void;
}

/**
 * A batch function: a plain async function from inputs to outputs, or an
 * {@link AsyncBatchFunction} object. A thrown error or rejected promise fails
 * the attempt.
 *
 * @example
 * ```ts
 * const embed: BatchFunction<string, number[]> = async (texts, { signal }) =>
 *   (await client.embed(texts, { signal })).vectors;
 * ```
 */
export type BatchFunction<TIn, TOut> =
  | ((inputs: readonly TIn[], ctx: BatchContext) => Promise<readonly TOut[]> | readonly TOut[])
  | AsyncBatchFunction<TIn, TOut>
  | PerSubtask<AsyncBatchFunction<TIn, TOut>>;

/**
 * Flink's `AsyncFunction`, for per-record async I/O: complete
 * `resultFuture` with zero or more outputs for `input`. `timeout` is the hook
 * called when the record's time runs out (see {@link AsyncBatchFunction}).
 */
export interface AsyncFunction<TIn, TOut> {
  asyncInvoke(input: TIn, resultFuture: ResultFuture<TOut>, ctx: BatchContext): void | Promise<void>;
  open?(ctx: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
  timeout?(input: TIn, resultFuture: ResultFuture<TOut>): void;
}

/**
 * A per-record async function: a plain async function returning exactly one
 * output, or an {@link AsyncFunction} object (zero or more outputs).
 */
export type AsyncRecordFunction<TIn, TOut> =
  | ((input: TIn, ctx: BatchContext) => Promise<TOut> | TOut)
  | AsyncFunction<TIn, TOut>
  | PerSubtask<AsyncFunction<TIn, TOut>>;

/** A record that gave up, as emitted on a dead-letter side output. */
export interface DeadLetter<TIn> {
  readonly input: TIn;
  /** The last error: what the call threw, the item's `Error`, or an {@link AsyncTimeoutError}. */
  readonly error: unknown;
  /** Attempts made for this record (1 = it never was retried). */
  readonly attempts: number;
}

/**
 * What happens to a record whose attempts are exhausted:
 * - `'fail'` (default): the job fails with an {@link AsyncBatchFailedError} naming the operator.
 * - `{ deadLetter: tag }`: the record goes to the side output `tag` as a {@link DeadLetter}; read it with `getSideOutput(tag)`.
 * - `{ fallback }`: `fallback(input, error)` returns the record's outputs (Flink's `timeout()` override, for every failure).
 */
export type FailurePolicy<TIn, TOut> =
  | 'fail'
  | { readonly deadLetter: OutputTag<DeadLetter<TIn>> }
  | { readonly fallback: (input: TIn, error: unknown) => readonly TOut[] };

/**
 * How results are emitted:
 * - `unordered`: as batches complete (lowest latency).
 * - `ordered`: in input order across batches (a slow batch holds back later ones).
 * - `key-ordered`: in input order per key, while other keys overtake (the
 *   stream's key after `keyBy`, else the `orderKey` option). Needs
 *   `resultMode: 'per-item'`, so that every output belongs to one record.
 */
export type Ordering = 'unordered' | 'ordered' | 'key-ordered';
