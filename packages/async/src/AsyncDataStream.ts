import { OptionChecker, type DataStream, type OperatorFactory, type SingleOutputStream } from '@tributary/core';
import type { AsyncRecordFunction, BatchFunction, Ordering } from './functions.js';
import { resolveBatchConfig, resolveRecordConfig, type AsyncOperatorConfig } from './internal/config.js';
import { AsyncBatchWaitOperator } from './operators/AsyncBatchWaitOperator.js';
import type { AsyncBatchOptions, AsyncWaitOptions, WaitBatchOptions } from './options.js';

/** Batch options in `collect` mode (the default): the function returns any number of outputs. */
export type CollectBatchOptions<TIn, TOut> = AsyncBatchOptions<TIn, TOut> & { readonly resultMode?: 'collect' | undefined };
/** Batch options in `per-item` mode: the function returns one output or `Error` per input. */
export type PerItemBatchOptions<TIn, TOut> = AsyncBatchOptions<TIn, TOut> & { readonly resultMode: 'per-item' };

const NAMES: Record<Ordering, string> = {
  unordered: 'UnorderedWaitBatch',
  ordered: 'OrderedWaitBatch',
  'key-ordered': 'KeyOrderedWaitBatch',
};

/** The operator's name for `ordering`, undefined for anything else: own keys only, or 'constructor' would find Object. */
function operatorName(ordering: unknown): string | undefined {
  return typeof ordering === 'string' && Object.hasOwn(NAMES, ordering) ? NAMES[ordering as Ordering] : undefined;
}

function addOperator<TIn, TOut>(stream: DataStream<TIn>, name: string, config: AsyncOperatorConfig<TIn, TOut>): SingleOutputStream<TOut> {
  // 'first': right after its source, or at the head of a new task. Either way the task's input
  // enters at the operator, cut to its freeCapacity(), so capacity is exact.
  // Dead letters are failed records: the job must not build unless someone reads them.
  const policy = config.onFailure;
  const requiredSideOutputs = typeof policy === 'object' && 'deadLetter' in policy ? [policy.deadLetter] : [];
  return stream.transform<TOut>(name, (ctx) => new AsyncBatchWaitOperator<TIn, TOut>(ctx, config), { chaining: 'first', requiredSideOutputs });
}

function batch<TIn, TOut>(
  api: string,
  stream: DataStream<TIn>,
  fn: unknown,
  options: WaitBatchOptions<TIn, TOut>,
  ordering: Ordering,
  orderingOption: boolean,
): SingleOutputStream<TOut> {
  const chosen = orderingOption ? (options as WaitBatchOptions<TIn, TOut> | undefined)?.ordering : undefined;
  const name = operatorName(chosen ?? ordering) ?? NAMES[ordering];
  const config = resolveBatchConfig<TIn, TOut>(`${api} ('${name}')`, stream, fn, options, ordering, orderingOption);
  return addOperator(stream, name, config);
}

function perRecord<TIn, TOut>(
  api: string,
  name: string,
  stream: DataStream<TIn>,
  fn: unknown,
  options: AsyncWaitOptions<TIn, TOut>,
  ordering: Ordering,
): SingleOutputStream<TOut> {
  return addOperator(stream, name, resolveRecordConfig<TIn, TOut>(`${api} ('${name}')`, stream, fn, options, ordering));
}

/**
 * Async I/O on a stream (Flink's `AsyncDataStream`): call a service for
 * batches of records (`*WaitBatch`) or for each record (`*Wait`) without
 * blocking the pipeline, with bounded concurrency and memory, timeouts,
 * retries and failure policies.
 *
 * Each method returns a normal stream: name it, give it a uid, key it,
 * union it, sink it, and read dead letters with `getSideOutput(tag)`.
 * Options are checked when the stream is built.
 *
 * @example
 * ```ts
 * const deadLetters = new OutputTag<DeadLetter<string>>('dead-letters');
 * const vectors = AsyncDataStream.unorderedWaitBatch(texts, (batch, { signal }) => embed(batch, signal), {
 *   maxBatchSize: 64,
 *   maxBatchDelay: 5,
 *   maxInFlightBatches: 4,
 *   timeout: 2_000,
 *   retry: RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 }),
 *   onFailure: { deadLetter: deadLetters },
 * }).name('embed').uid('embed');
 * vectors.getSideOutput(deadLetters).print('failed');
 * ```
 */
export class AsyncDataStream {
  private constructor() {}

  /**
   * Batches records and emits each batch's outputs as soon as its call
   * completes (lowest latency; order across batches is not kept).
   */
  static unorderedWaitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut>,
    options: CollectBatchOptions<NoInfer<TIn>, NoInfer<TOut>>,
  ): SingleOutputStream<TOut>;
  static unorderedWaitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut | Error>,
    options: PerItemBatchOptions<NoInfer<TIn>, NoInfer<TOut>>,
  ): SingleOutputStream<TOut>;
  static unorderedWaitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut>,
    options: AsyncBatchOptions<TIn, TOut>,
  ): SingleOutputStream<TOut> {
    return batch('unorderedWaitBatch()', stream, fn, options, 'unordered', false);
  }

  /**
   * Batches records and emits outputs in input order across batches: a
   * batch's outputs wait until every earlier record's are out.
   */
  static orderedWaitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut>,
    options: CollectBatchOptions<NoInfer<TIn>, NoInfer<TOut>>,
  ): SingleOutputStream<TOut>;
  static orderedWaitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut | Error>,
    options: PerItemBatchOptions<NoInfer<TIn>, NoInfer<TOut>>,
  ): SingleOutputStream<TOut>;
  static orderedWaitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut>,
    options: AsyncBatchOptions<TIn, TOut>,
  ): SingleOutputStream<TOut> {
    return batch('orderedWaitBatch()', stream, fn, options, 'ordered', false);
  }

  /**
   * The general form: `ordering` picks `unordered` (default), `ordered`, or
   * `key-ordered` (order per key, other keys overtake; the stream's key after
   * `keyBy`, else `orderKey`).
   */
  static waitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut>,
    options: WaitBatchOptions<NoInfer<TIn>, NoInfer<TOut>> & { readonly resultMode?: 'collect' | undefined },
  ): SingleOutputStream<TOut>;
  static waitBatch<TIn, TOut>(
    stream: DataStream<TIn>,
    fn: BatchFunction<TIn, TOut | Error>,
    options: WaitBatchOptions<NoInfer<TIn>, NoInfer<TOut>> & { readonly resultMode: 'per-item' },
  ): SingleOutputStream<TOut>;
  static waitBatch<TIn, TOut>(stream: DataStream<TIn>, fn: BatchFunction<TIn, TOut>, options: WaitBatchOptions<TIn, TOut>): SingleOutputStream<TOut> {
    return batch('waitBatch()', stream, fn, options, 'unordered', true);
  }

  /**
   * Per-record async I/O (Flink's `unorderedWait`): one call per record, at
   * most `capacity` at once, results emitted as they complete. For many
   * records per second against a service with a fixed cost per call, the
   * batch forms are far faster (see docs/async-batching.md).
   */
  static unorderedWait<TIn, TOut>(stream: DataStream<TIn>, fn: AsyncRecordFunction<TIn, TOut>, options: AsyncWaitOptions<NoInfer<TIn>, NoInfer<TOut>> = {}): SingleOutputStream<TOut> {
    return perRecord('unorderedWait()', 'UnorderedWait', stream, fn, options, 'unordered');
  }

  /** Per-record async I/O (Flink's `orderedWait`): like {@link AsyncDataStream.unorderedWait}, results in input order. */
  static orderedWait<TIn, TOut>(stream: DataStream<TIn>, fn: AsyncRecordFunction<TIn, TOut>, options: AsyncWaitOptions<NoInfer<TIn>, NoInfer<TOut>> = {}): SingleOutputStream<TOut> {
    return perRecord('orderedWait()', 'OrderedWait', stream, fn, options, 'ordered');
  }
}

/**
 * The batch operator as an operator factory, for test harnesses and custom
 * graphs (`stream.transform(name, factory, { chaining: 'first' })`). Options
 * are validated here; `key-ordered` needs `orderKey` or a keyed harness.
 */
// Typed as AsyncDataStream.waitBatch is: from `fn` (and `resultMode`) only, or options such as `retry` widen them to unknown.
export function asyncBatchOperatorFactory<TIn, TOut>(
  fn: BatchFunction<TIn, TOut>,
  options: WaitBatchOptions<NoInfer<TIn>, NoInfer<TOut>> & { readonly resultMode?: 'collect' | undefined },
): OperatorFactory<TIn, TOut>;
export function asyncBatchOperatorFactory<TIn, TOut>(
  fn: BatchFunction<TIn, TOut | Error>,
  options: WaitBatchOptions<NoInfer<TIn>, NoInfer<TOut>> & { readonly resultMode: 'per-item' },
): OperatorFactory<TIn, TOut>;
export function asyncBatchOperatorFactory<TIn, TOut>(
  fn: BatchFunction<TIn, TOut> | BatchFunction<TIn, TOut | Error>,
  options: WaitBatchOptions<NoInfer<TIn>, NoInfer<TOut>>,
): OperatorFactory<TIn, TOut>;
export function asyncBatchOperatorFactory<TIn, TOut>(
  fn: BatchFunction<TIn, TOut> | BatchFunction<TIn, TOut | Error>,
  options: WaitBatchOptions<TIn, TOut>,
): OperatorFactory<TIn, TOut> {
  const ordering = (options as WaitBatchOptions<TIn, TOut> | undefined)?.ordering ?? 'unordered';
  const config = resolveBatchConfig<TIn, TOut>(`asyncBatchOperatorFactory() ('${operatorName(ordering) ?? 'WaitBatch'}')`, undefined, fn, options, 'unordered', true);
  return (ctx) => new AsyncBatchWaitOperator<TIn, TOut>(ctx, config);
}

/** The per-record operator as an operator factory (see {@link asyncBatchOperatorFactory}). */
export function asyncWaitOperatorFactory<TIn, TOut>(
  fn: AsyncRecordFunction<TIn, TOut>,
  options: AsyncWaitOptions<NoInfer<TIn>, NoInfer<TOut>> & { readonly ordering?: 'unordered' | 'ordered' | undefined } = {},
): OperatorFactory<TIn, TOut> {
  const check = new OptionChecker('asyncWaitOperatorFactory()');
  const { ordering: given, ...rest } = check.object(options);
  const ordering = check.oneOf('ordering', given, ['unordered', 'ordered'], 'unordered');
  const config = resolveRecordConfig<TIn, TOut>(`asyncWaitOperatorFactory() ('${ordering === 'ordered' ? 'OrderedWait' : 'UnorderedWait'}')`, undefined, fn, rest, ordering);
  return (ctx) => new AsyncBatchWaitOperator<TIn, TOut>(ctx, config);
}
