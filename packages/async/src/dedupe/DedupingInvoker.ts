import { describeValue, type Counter, type MetricGroup, type RuntimeContext } from '@tributary/core';
import { NonRetryableError } from '../errors.js';
import type { CallFuture, Invoker } from '../operators/Invoker.js';
import type { ResultCache } from './ResultCache.js';

/** The `dedupe` option, resolved: the key, and this subtask's cache if any. */
export interface Dedupe<TIn, TOut> {
  readonly key: (input: TIn) => string;
  readonly cache: ResultCache<TOut> | undefined;
  /** Makes an input's output from the result of an identical input (outputs that carry their input); absent: the result as is. */
  readonly withInput: ((result: TOut, input: TIn) => TOut) | undefined;
  /**
   * The retry strategy's `retryOnResult`, asked of one result (as per-item
   * mode asks it). A result it wants retried is not cached: the operator
   * decides on retries after the call, and a cached answer would be its retry's.
   */
  readonly retryOnResult: (result: TOut) => boolean;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/**
 * Calls the user function (per-item mode) once per distinct key of a batch,
 * minus the keys the cache answers, and fans each result out to every input
 * of its key. The operator sees a call of the whole batch, so retries,
 * timeouts, ordering and checkpoints work per record as without it: a
 * restored record is sent again and answered once. It counts the calls it
 * makes (`countCall`): a batch the cache answers in full makes none.
 */
export class DedupingInvoker<TIn, TOut> implements Invoker<TIn, TOut> {
  readonly countsCalls = true;
  private readonly hits: Counter;
  private readonly misses: Counter;
  private readonly deduped: Counter;
  private readonly cacheErrors: Counter;
  /** Stores not settled yet: `close` waits for them, so a job's results are in the cache when it ends. */
  private readonly storing = new Set<Promise<void>>();

  constructor(
    private readonly inner: Invoker<TIn, TOut>,
    private readonly dedupe: Dedupe<TIn, TOut>,
    metrics: MetricGroup,
    /** Counts a call of the user function with these inputs, attempt `attempt` of its batch (`batches`, `records`, `retries`, ...). */
    private readonly countCall: (sent: readonly TIn[], attempt: number) => void,
  ) {
    this.hits = metrics.counter('cacheHits');
    this.misses = metrics.counter('cacheMisses');
    this.deduped = metrics.counter('dedupedRecords');
    this.cacheErrors = metrics.counter('cacheErrors');
  }

  get hasTimeoutHook(): boolean {
    return this.inner.hasTimeoutHook;
  }

  open(ctx: RuntimeContext): Promise<void> | undefined {
    const opening = this.dedupe.cache?.open?.();
    if (!isThenable(opening)) return this.inner.open(ctx);
    return Promise.resolve(opening).then(() => this.inner.open(ctx));
  }

  async close(): Promise<void> {
    await this.inner.close();
    await Promise.all(this.storing);
    await this.dedupe.cache?.close?.();
  }

  timeout(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    this.inner.timeout(inputs, call);
  }

  invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    let keys: string[];
    try {
      keys = inputs.map(this.keyOf);
    } catch (error) {
      call.completeExceptionally(error);
      return;
    }
    const distinct = [...new Set(keys)];
    const cache = this.dedupe.cache;
    if (cache === undefined) {
      this.send(inputs, keys, distinct, new Map(), call);
      return;
    }
    const answer = (answered: unknown): void => {
      // No array (a cache's bug): a failed lookup, not a call that never completes.
      if (!Array.isArray(answered)) {
        unanswered();
        return;
      }
      const held = answered as readonly (TOut | undefined)[];
      const known = new Map<string, TOut>();
      distinct.forEach((key, i) => {
        const value = held[i];
        // A held result the retry policy rejects (e.g. stored by another job into a shared cache) is a miss, so retries reach the function.
        if (value !== undefined && this.cacheable(value)) known.set(key, value);
      });
      this.send(inputs, keys, distinct, known, call);
    };
    // A lookup that failed is a miss of every key: the outage costs calls, not records.
    const unanswered = (): void => {
      this.cacheErrors.count++;
      answer([]);
    };
    let held: ReturnType<ResultCache<TOut>['getMany']>;
    try {
      held = cache.getMany(distinct);
    } catch {
      unanswered();
      return;
    }
    if (!isThenable(held)) {
      answer(held);
      return;
    }
    // A call cut by its time limit, or by its operator stopping, while the cache answered is not made: its retry will be.
    held.then(
      (values) => {
        if (!call.ended) answer(values);
      },
      () => {
        if (!call.ended) unanswered();
      },
    );
  }

  /** Calls the function for the distinct keys not `known`, then completes `call` with one output per input. */
  private send(inputs: readonly TIn[], keys: readonly string[], distinct: readonly string[], known: Map<string, TOut>, call: CallFuture<TOut>): void {
    const missing = distinct.filter((key) => !known.has(key));
    let answered = 0;
    for (const key of keys) if (known.has(key)) answered++;
    // Each record is counted once: sent, answered by the cache, or sharing the call of an identical one.
    this.deduped.count += keys.length - answered - missing.length;
    if (this.dedupe.cache !== undefined) {
      this.hits.count += answered;
      this.misses.count += missing.length;
    }
    const withInput = this.dedupe.withInput;
    const fanOut = (): void => {
      if (withInput === undefined) {
        call.complete(keys.map((key) => known.get(key) as TOut));
        return;
      }
      let outputs: TOut[];
      try {
        outputs = keys.map((key, i) => {
          const result = known.get(key) as TOut;
          return result instanceof Error ? result : withInput(result, inputs[i] as TIn);
        });
      } catch (error) {
        call.completeExceptionally(error);
        return;
      }
      call.complete(outputs);
    };
    if (missing.length === 0) {
      fanOut();
      return;
    }
    // The first input of each missing key goes in the call.
    const firstOf = new Map<string, TIn>();
    keys.forEach((key, i) => {
      if (!firstOf.has(key)) firstOf.set(key, inputs[i] as TIn);
    });
    const sent = missing.map((key) => firstOf.get(key) as TIn);
    this.countCall(sent, call.attempt);
    const complete = (outputs: readonly TOut[]): void => {
      // The first completion wins, and one after the call's time limit or its operator's stop is ignored: none may reach the cache.
      if (call.ended) return;
      // Not an array: the operator refuses it as it would without dedupe.
      if (!Array.isArray(outputs)) {
        call.complete(outputs);
        return;
      }
      // Checked here, against what was sent: the operator only sees the batch's count, which a wrong answer may match.
      if (outputs.length !== sent.length) {
        const cached = answered > 0 ? `, ${answered} answered by the cache` : '';
        call.completeExceptionally(
          new NonRetryableError(
            `in per-item mode the batch function must return one output per input: got ${outputs.length} outputs for the ${sent.length} inputs it was sent (${keys.length} records, deduplicated by key${cached})`,
          ),
        );
        return;
      }
      const fresh: [string, TOut][] = [];
      missing.forEach((key, i) => {
        const output = outputs[i] as TOut;
        known.set(key, output);
        if (this.cacheable(output)) fresh.push([key, output]);
      });
      // Stored first: completing may start the next call at once, which should find these.
      if (fresh.length > 0) {
        try {
          this.store(fresh);
        } catch (error) {
          call.completeExceptionally(error);
          return;
        }
      }
      fanOut();
    };
    this.inner.invoke(sent, {
      get signal() {
        return call.signal;
      },
      get ended() {
        return call.ended;
      },
      metrics: call.metrics,
      attempt: call.attempt,
      complete,
      completeExceptionally: call.completeExceptionally,
      completeOne: (output) => {
        complete([output]);
      },
    });
  }

  /** A record's key: a string, or the records of one batch would share results they must not (`undefined` for all). */
  private readonly keyOf = (input: TIn): string => {
    const key: unknown = this.dedupe.key(input);
    if (typeof key !== 'string') throw new NonRetryableError(`option 'dedupe.key' must return a string for every record, got ${describeValue(key)}`);
    return key;
  };

  /**
   * Whether the cache may hold and serve `result`: not a failed item, nor a
   * result the retry policy would retry ("not ready"), even on the last
   * attempt, when it is emitted but should not answer later records. A
   * predicate that throws says no; the operator asks it too and fails as
   * without dedupe.
   */
  private cacheable(result: TOut): boolean {
    if (result instanceof Error) return false;
    try {
      return !this.dedupe.retryOnResult(result);
    } catch {
      return false;
    }
  }

  /**
   * Stores fresh results; a store that fails later (I/O) costs later calls,
   * not this one's results, and is counted. A cache that throws at once
   * refuses the values: the error goes to the call.
   */
  private store(entries: readonly (readonly [string, TOut])[]): void {
    const stored = this.dedupe.cache?.setMany(entries);
    if (!isThenable(stored)) return;
    const settled = Promise.resolve(stored).then(undefined, () => {
      this.cacheErrors.count++;
    });
    this.storing.add(settled);
    void settled.finally(() => this.storing.delete(settled));
  }
}
