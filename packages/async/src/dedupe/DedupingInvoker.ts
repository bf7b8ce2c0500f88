import type { Counter, MetricGroup, RuntimeContext } from '@tributary/core';
import type { CallFuture, Invoker } from '../operators/Invoker.js';
import type { ResultCache } from './ResultCache.js';

/** The `dedupe` option, resolved: the key, and this subtask's cache if any. */
export interface Dedupe<TIn, TOut> {
  readonly key: (input: TIn) => string;
  readonly cache: ResultCache<TOut> | undefined;
  /** Makes an input's output from the result of an identical input (outputs that carry their input); absent: the result as is. */
  readonly withInput: ((result: TOut, input: TIn) => TOut) | undefined;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/**
 * Calls the user function (per-item mode) once per distinct key of a batch,
 * minus the keys the cache answers, and fans each result out to every input
 * of its key. The operator sees a call of the whole batch, so retries,
 * timeouts, ordering and checkpoints work per record as without it: a
 * restored record is sent again and answered once.
 */
export class DedupingInvoker<TIn, TOut> implements Invoker<TIn, TOut> {
  private readonly hits: Counter;
  private readonly misses: Counter;
  private readonly deduped: Counter;
  private readonly cacheErrors: Counter;

  constructor(
    private readonly inner: Invoker<TIn, TOut>,
    private readonly dedupe: Dedupe<TIn, TOut>,
    metrics: MetricGroup,
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
    return this.inner.open(ctx);
  }

  close(): void | Promise<void> {
    return this.inner.close();
  }

  timeout(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    this.inner.timeout(inputs, call);
  }

  invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    let keys: string[];
    try {
      keys = inputs.map(this.dedupe.key);
    } catch (error) {
      call.completeExceptionally(error);
      return;
    }
    const distinct = [...new Set(keys)];
    this.deduped.count += keys.length - distinct.length;
    const cache = this.dedupe.cache;
    if (cache === undefined) {
      this.send(inputs, keys, distinct, new Map(), call);
      return;
    }
    const answer = (held: readonly (TOut | undefined)[]): void => {
      const known = new Map<string, TOut>();
      distinct.forEach((key, i) => {
        const value = held[i];
        if (value !== undefined) known.set(key, value);
      });
      this.send(inputs, keys, distinct, known, call);
    };
    try {
      const held = cache.getMany(distinct);
      if (isThenable(held)) held.then(answer, call.completeExceptionally);
      else answer(held);
    } catch (error) {
      call.completeExceptionally(error);
    }
  }

  /** Calls the function for the distinct keys not `known`, then completes `call` with one output per input. */
  private send(inputs: readonly TIn[], keys: readonly string[], distinct: readonly string[], known: Map<string, TOut>, call: CallFuture<TOut>): void {
    const missing = distinct.filter((key) => !known.has(key));
    if (this.dedupe.cache !== undefined) {
      for (const key of keys) if (known.has(key)) this.hits.count++;
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
    const complete = (outputs: readonly TOut[]): void => {
      // A wrong count goes to the operator as is, which fails the call as it would without dedupe.
      if (!Array.isArray(outputs) || outputs.length !== sent.length) {
        call.complete(outputs);
        return;
      }
      const fresh: [string, TOut][] = [];
      missing.forEach((key, i) => {
        const output = outputs[i] as TOut;
        known.set(key, output);
        if (!(output instanceof Error)) fresh.push([key, output]);
      });
      // Stored first: completing may start the next call at once, which should find these.
      if (fresh.length > 0) this.store(fresh);
      fanOut();
    };
    this.inner.invoke(sent, {
      get signal() {
        return call.signal;
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

  /** Stores fresh results; a cache that fails to store costs later calls, not this one's results. */
  private store(entries: readonly (readonly [string, TOut])[]): void {
    const cache = this.dedupe.cache;
    if (cache === undefined) return;
    const counted = (): void => {
      this.cacheErrors.count++;
    };
    try {
      const stored = cache.setMany(entries);
      if (isThenable(stored)) stored.then(undefined, counted);
    } catch {
      counted();
    }
  }
}
