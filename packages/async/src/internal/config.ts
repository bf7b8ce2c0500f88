import { describeValue, isPerSubtask, KeyedStream, OptionChecker, OutputTag, type Clock, type DataStream, type Key } from '@tributary/core';
import type { AsyncRecordFunction, BatchFunction, FailurePolicy, Ordering } from '../functions.js';
import type { AdaptiveBatching } from '../batching/AdaptiveBatchPolicy.js';
import { LruResultCache, type ResultCache } from '../dedupe/ResultCache.js';
import { batchInvoker, recordInvoker, type InvokerFactory } from '../operators/Invoker.js';
import type { AsyncBatchOptions, AsyncWaitOptions } from '../options.js';
import type { RateLimit } from '../retry/RateLimiter.js';
import { RetryStrategies, type RetryStrategy } from '../retry/RetryStrategies.js';

/** Every option of an async operator, validated and with defaults applied. */
export interface AsyncOperatorConfig<TIn, TOut> {
  /** Makes each subtask's caller of the user function. */
  readonly invoker: InvokerFactory<TIn, TOut>;
  readonly maxBatchSize: number;
  /** 0: no time trigger. */
  readonly maxBatchDelay: number;
  /** Infinity when there is no weight budget. */
  readonly maxBatchWeight: number;
  readonly weigher: ((input: TIn) => number) | undefined;
  readonly batchKey: ((input: TIn) => unknown) | undefined;
  readonly maxInFlightBatches: number;
  readonly capacity: number;
  /** Set: one call per distinct key of a batch, and a cache of results if one is given. */
  readonly dedupe: DedupeConfig<TIn, TOut> | undefined;
  /** Set: the batch size and wait adapt to the service, within `maxBatchSize` and `maxBatchDelay`. */
  readonly adaptive: AdaptiveBatching | undefined;
  /** Infinity: none. */
  readonly timeout: number;
  /** Infinity: none. */
  readonly deadline: number;
  readonly retry: RetryStrategy<TOut>;
  readonly ordering: Ordering;
  /** key-ordered: the explicit order key (else the stream's key). */
  readonly orderKey: ((input: TIn) => Key) | undefined;
  readonly perItem: boolean;
  readonly onFailure: FailurePolicy<TIn, TOut>;
  readonly splitOnFailure: boolean;
  readonly rateLimit: RateLimit | undefined;
  readonly retryRules: RetryRules;
}

/** The `dedupe` option, checked: the key, and how each subtask gets its cache. */
export interface DedupeConfig<TIn, TOut> {
  readonly key: (input: TIn) => string;
  readonly withInput: ((result: TOut, input: TIn) => TOut) | undefined;
  /** A shared `ResultCache` as given, or an `LruResultCache` per subtask on its clock; undefined without a cache. */
  readonly cache: (clock: Clock) => ResultCache<TOut> | undefined;
}

/**
 * Where the two families' retries differ: per-record operators follow
 * Flink's `AsyncWaitOperator`, batch operators keep their documented rules.
 */
export interface RetryRules {
  /**
   * A retry whose wait would reach the deadline waits for the deadline
   * instead, so the timeout (the `timeout()` hook, else an `AsyncTimeoutError`)
   * decides the record, as in Flink. Otherwise it gives up at once with the
   * attempt's error.
   */
  readonly waitForDeadline: boolean;
  /**
   * After end of input every outcome is final: each waiting retry fires
   * once and nothing is retried again, as in Flink. Otherwise retries go on
   * back to back up to `maxAttempts`.
   */
  readonly finalAfterEndOfInput: boolean;
}

const RECORD_RETRY_RULES: RetryRules = { waitForDeadline: true, finalAfterEndOfInput: true };
const BATCH_RETRY_RULES: RetryRules = { waitForDeadline: false, finalAfterEndOfInput: false };

const BATCH_OPTIONS_FIXED_ORDER: ReadonlySet<string> = new Set([
  'maxBatchSize',
  'maxBatchDelay',
  'maxBatchWeight',
  'weigher',
  'batchKey',
  'maxInFlightBatches',
  'capacity',
  'timeout',
  'deadline',
  'retry',
  'resultMode',
  'onFailure',
  'splitOnFailure',
  'rateLimit',
  'orderKey',
  'adaptive',
  'dedupe',
]);
const BATCH_OPTIONS: ReadonlySet<string> = new Set([...BATCH_OPTIONS_FIXED_ORDER, 'ordering']);
const WAIT_OPTIONS = new Set(['timeout', 'attemptTimeout', 'capacity', 'retry', 'onFailure', 'rateLimit']);
const RATE_LIMIT_OPTIONS = ['requestsPerSecond', 'itemsPerSecond'];
const FAILURE_POLICIES = ['deadLetter', 'fallback'];
const ADAPTIVE_OPTIONS = ['targetLatency'];
const DEDUPE_OPTIONS = ['key', 'cache', 'withInput'];
const CACHE_OPTIONS = ['maxEntries', 'ttl'];

/** The shared option checks, and those only the async operators have. */
class Checker extends OptionChecker {
  retry<TOut>(value: unknown): RetryStrategy<TOut> {
    if (value === undefined) return RetryStrategies.none();
    const r = value as Partial<RetryStrategy<TOut>> | null;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.backoff !== 'function' ||
      typeof r.retryOnError !== 'function' ||
      typeof r.retryOnResult !== 'function' ||
      typeof r.maxAttempts !== 'number'
    ) {
      this.fail(`option 'retry' must be a RetryStrategy (use RetryStrategies.none(), fixedDelay() or exponentialBackoff())`);
    }
    this.integer('retry.maxAttempts', r.maxAttempts);
    return r as RetryStrategy<TOut>;
  }

  onFailure<TIn, TOut>(value: unknown): FailurePolicy<TIn, TOut> {
    if (value === undefined || value === 'fail') return 'fail';
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      this.known(value as Record<string, unknown>, FAILURE_POLICIES, 'onFailure');
      const keys = Object.keys(value);
      const v = value as { deadLetter?: unknown; fallback?: unknown };
      if (keys.length === 1 && v.deadLetter instanceof OutputTag) return value as FailurePolicy<TIn, TOut>;
      if (keys.length === 1 && typeof v.fallback === 'function') return value as FailurePolicy<TIn, TOut>;
    }
    this.fail(`option 'onFailure' must be 'fail', { deadLetter: OutputTag } or { fallback: (input, error) => outputs }, got ${describeValue(value)}`);
  }

  rateLimit(value: unknown): RateLimit | undefined {
    const given = this.record('rateLimit', value, RATE_LIMIT_OPTIONS);
    if (given === undefined) return undefined;
    const { requestsPerSecond, itemsPerSecond } = given;
    if (requestsPerSecond === undefined && itemsPerSecond === undefined) {
      this.fail(`option 'rateLimit' needs requestsPerSecond or itemsPerSecond`);
    }
    this.optionalNumber('rateLimit.requestsPerSecond', requestsPerSecond, { above: 0 });
    this.optionalNumber('rateLimit.itemsPerSecond', itemsPerSecond, { above: 0 });
    return given;
  }

  /** `adaptive`: true, or `{ targetLatency? }`; it needs a `maxBatchDelay`, the longest any batch may wait. */
  adaptive(value: unknown, maxBatchDelay: number): AdaptiveBatching | undefined {
    if (value === undefined || value === false) return undefined;
    const given = value === true ? {} : this.record('adaptive', value, ADAPTIVE_OPTIONS);
    if (given === undefined) this.fail(`option 'adaptive' must be true or { targetLatency? }, got ${describeValue(value)}`);
    if (maxBatchDelay === 0) {
      this.fail(`option 'adaptive' needs 'maxBatchDelay' (> 0): the adaptive wait stays under it, and a lone record must not wait for ever`);
    }
    return { targetLatency: this.optionalDuration('adaptive.targetLatency', given.targetLatency, Number.POSITIVE_INFINITY, NO_LIMIT) };
  }

  /** `dedupe`: `{ key, cache?, withInput? }`, the cache a `ResultCache` or `{ maxEntries, ttl? }`; per-item results only. */
  dedupe<TIn, TOut>(value: unknown, perItem: boolean): DedupeConfig<TIn, TOut> | undefined {
    const given = this.record('dedupe', value, DEDUPE_OPTIONS);
    if (given === undefined) return undefined;
    if (!perItem) this.fail(`option 'dedupe' needs resultMode 'per-item': only one output per input can be handed to every input of a key`);
    const key = this.func('dedupe.key', given.key) as (input: TIn) => string;
    const withInput = this.optionalFunc('dedupe.withInput', given.withInput) as ((result: TOut, input: TIn) => TOut) | undefined;
    const cache = given.cache as Partial<ResultCache<TOut>> | Record<string, unknown> | null | undefined;
    if (cache === undefined) return { key, withInput, cache: () => undefined };
    const getMany = typeof cache?.getMany === 'function';
    const setMany = typeof cache?.setMany === 'function';
    if (getMany && setMany) {
      const shared = cache as ResultCache<TOut>;
      return { key, withInput, cache: () => shared };
    }
    if (getMany || setMany) {
      this.fail(`option 'dedupe.cache' must be a ResultCache with both getMany() and setMany(), or { maxEntries, ttl? }: it has ${getMany ? 'getMany() but no setMany()' : 'setMany() but no getMany()'}`);
    }
    const spec = this.record('dedupe.cache', cache, CACHE_OPTIONS) as { maxEntries?: unknown; ttl?: unknown };
    const maxEntries = this.integer('dedupe.cache.maxEntries', spec.maxEntries);
    const ttl = this.optionalDuration('dedupe.cache.ttl', spec.ttl, Number.POSITIVE_INFINITY, { positive: true, infinity: 'leave it out to keep results until evicted' });
    return { key, withInput, cache: (clock) => new LruResultCache<TOut>({ maxEntries, ttl: Number.isFinite(ttl) ? ttl : undefined, clock }) };
  }
}

/** `undefined` when building a bare operator factory (the operator checks its keyed context itself). */
function checkStream(c: Checker, stream: unknown): void {
  if (stream === undefined) return;
  if (typeof (stream as DataStream<unknown> | null)?.transform !== 'function') c.fail('needs a DataStream as its first argument');
}

/** Validates the options of a batch operator; throws an `InvalidJobError` naming the operator and option. */
export function resolveBatchConfig<TIn, TOut>(
  where: string,
  stream: DataStream<TIn> | undefined,
  fn: unknown,
  options: AsyncBatchOptions<TIn, TOut> & { readonly ordering?: Ordering | undefined },
  defaultOrdering: Ordering,
  /** Whether `ordering` is an option here (waitBatch) or fixed by the method's name. */
  orderingOption: boolean,
): AsyncOperatorConfig<TIn, TOut> {
  const c: Checker = new Checker(where);
  const o = checkFunctionAndOptions(c, stream, fn, options, BATCH_FUNCTIONS, orderingOption ? BATCH_OPTIONS : BATCH_OPTIONS_FIXED_ORDER);

  const maxBatchSize = c.integer('maxBatchSize', o.maxBatchSize);
  const maxBatchDelay = c.optionalDuration('maxBatchDelay', o.maxBatchDelay, 0, { infinity: '0, or leaving it out, flushes on size and end of input only' });
  c.optionalFunc('weigher', o.weigher);
  if ((o.maxBatchWeight === undefined) !== (o.weigher === undefined)) {
    c.fail(`options 'maxBatchWeight' and 'weigher' go together: set both or neither`);
  }
  const maxBatchWeight = c.optionalNumber('maxBatchWeight', o.maxBatchWeight, { above: 0 }) ?? Number.POSITIVE_INFINITY;
  c.optionalFunc('batchKey', o.batchKey);
  const maxInFlightBatches = c.optionalInteger('maxInFlightBatches', o.maxInFlightBatches, 1);
  // Capped: past 2^53 - 1 the default would blame 'capacity', which the user never set, and no job holds that many anyway.
  const capacity = c.optionalInteger('capacity', o.capacity, Math.min(2 * maxBatchSize * maxInFlightBatches, Number.MAX_SAFE_INTEGER));
  if (capacity < maxBatchSize) c.fail(`option 'capacity' (${capacity}) must be >= maxBatchSize (${maxBatchSize}), or no batch could ever fill`);

  const ordering: Ordering = c.oneOf('ordering', o.ordering, ['unordered', 'ordered', 'key-ordered'], defaultOrdering);
  c.optionalFunc('orderKey', o.orderKey);
  if (o.orderKey !== undefined && ordering !== 'key-ordered') c.fail(`option 'orderKey' only applies to ordering 'key-ordered'`);
  // Two keys would order the records by one and partition them by the other: the key-ordered restore needs them one.
  if (o.orderKey !== undefined && stream instanceof KeyedStream) {
    c.fail(`option 'orderKey' is for a stream that is not keyed: after keyBy() the stream's key orders the records; leave the option out`);
  }
  if (ordering === 'key-ordered' && o.orderKey === undefined && stream !== undefined && !(stream instanceof KeyedStream)) {
    c.fail(`ordering 'key-ordered' needs a KeyedStream (keyBy() first) or the option 'orderKey'`);
  }
  const resultMode = c.oneOf('resultMode', o.resultMode, ['collect', 'per-item'], 'collect');
  // A collect-mode batch's outputs belong to no single record, so no key's line can place them.
  if (ordering === 'key-ordered' && resultMode !== 'per-item') {
    c.fail(`ordering 'key-ordered' needs resultMode 'per-item' (one output per input): in 'collect' mode a batch's outputs belong to no single key`);
  }
  c.optionalBoolean('splitOnFailure', o.splitOnFailure);
  return {
    invoker: batchInvoker(fn as BatchFunction<TIn, TOut>),
    maxBatchSize,
    maxBatchDelay,
    maxBatchWeight,
    weigher: o.weigher as ((input: TIn) => number) | undefined,
    batchKey: o.batchKey as ((input: TIn) => unknown) | undefined,
    maxInFlightBatches,
    capacity,
    adaptive: c.adaptive(o.adaptive, maxBatchDelay),
    dedupe: c.dedupe<TIn, TOut>(o.dedupe, resultMode === 'per-item'),
    ...attemptOptions<TIn, TOut>(c, o, { timeout: 'timeout', deadline: 'deadline' }),
    ordering,
    orderKey: o.orderKey as ((input: TIn) => Key) | undefined,
    perItem: resultMode === 'per-item',
    splitOnFailure: o.splitOnFailure === true,
    retryRules: BATCH_RETRY_RULES,
  };
}

/**
 * Validates the options of a per-record operator and maps them onto the
 * batch machinery: batches of one, as many in flight as the capacity
 * allows, Flink's `timeout` as the deadline of all attempts.
 */
export function resolveRecordConfig<TIn, TOut>(
  where: string,
  stream: DataStream<TIn> | undefined,
  fn: unknown,
  options: AsyncWaitOptions<TIn, TOut>,
  ordering: Ordering,
): AsyncOperatorConfig<TIn, TOut> {
  const c: Checker = new Checker(where);
  const o = checkFunctionAndOptions(c, stream, fn, options, RECORD_FUNCTIONS, WAIT_OPTIONS);
  const capacity = c.optionalInteger('capacity', o.capacity, 100);
  return {
    invoker: recordInvoker(fn as AsyncRecordFunction<TIn, TOut>),
    maxBatchSize: 1,
    maxBatchDelay: 0,
    maxBatchWeight: Number.POSITIVE_INFINITY,
    weigher: undefined,
    batchKey: undefined,
    maxInFlightBatches: capacity,
    capacity,
    adaptive: undefined,
    dedupe: undefined,
    // Flink's names: `timeout` covers all attempts (our deadline), `attemptTimeout` one attempt.
    ...attemptOptions<TIn, TOut>(c, o, { timeout: 'attemptTimeout', deadline: 'timeout' }),
    ordering,
    orderKey: undefined,
    perItem: false,
    splitOnFailure: false,
    retryRules: RECORD_RETRY_RULES,
  };
}

/** What each family of operators takes as its function: a plain async function, or an object with `method` and optional hooks. */
interface FunctionKinds {
  readonly method: 'asyncInvokeBatch' | 'asyncInvoke';
  /** The error when `fn` is neither. */
  readonly expected: string;
}

const BATCH_FUNCTIONS: FunctionKinds = {
  method: 'asyncInvokeBatch',
  expected: 'needs a batch function: an async function (inputs, ctx) => outputs, or an object with asyncInvokeBatch(inputs, resultFuture), or a perSubtask() factory of one',
};

const RECORD_FUNCTIONS: FunctionKinds = {
  method: 'asyncInvoke',
  expected: 'needs an async function (input, ctx) => output, or an object with asyncInvoke(input, resultFuture), or a perSubtask() factory of one',
};

/** The checks both resolvers start with: the stream, the function and its hooks, the options object and its names. */
function checkFunctionAndOptions(
  c: Checker,
  stream: unknown,
  fn: unknown,
  options: unknown,
  kinds: FunctionKinds,
  allowed: ReadonlySet<string>,
): Record<string, unknown> {
  checkStream(c, stream);
  // A factory's instances are checked when each subtask creates its own.
  if (typeof fn !== 'function' && !isPerSubtask(fn)) {
    if (typeof (fn as Record<string, unknown> | null)?.[kinds.method] !== 'function') c.fail(kinds.expected);
    for (const hook of ['open', 'close', 'timeout']) {
      const value = (fn as Record<string, unknown>)[hook];
      if (value !== undefined && typeof value !== 'function') c.fail(`the function's '${hook}' must be a method, got ${describeValue(value)}`);
    }
  }
  const o = c.object(options);
  c.known(o, allowed);
  return o;
}

/** Rules of the two time limits: absent means none, so Infinity is never needed. */
const NO_LIMIT = { positive: true, infinity: 'leave it out for no time limit' } as const;

/** The options about attempts both families share, under the names each family gives its two time limits. */
function attemptOptions<TIn, TOut>(
  c: Checker,
  o: Record<string, unknown>,
  names: { readonly timeout: string; readonly deadline: string },
): Pick<AsyncOperatorConfig<TIn, TOut>, 'timeout' | 'deadline' | 'retry' | 'onFailure' | 'rateLimit'> {
  return {
    timeout: c.optionalDuration(names.timeout, o[names.timeout], Number.POSITIVE_INFINITY, NO_LIMIT),
    deadline: c.optionalDuration(names.deadline, o[names.deadline], Number.POSITIVE_INFINITY, NO_LIMIT),
    retry: c.retry<TOut>(o.retry),
    onFailure: c.onFailure<TIn, TOut>(o.onFailure),
    rateLimit: c.rateLimit(o.rateLimit),
  };
}
