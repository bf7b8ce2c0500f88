import { OptionChecker, type Clock } from '@tributary/core';

/**
 * Where the batch operators' `dedupe` keeps results by key, so a repeated
 * input is answered without a call. Either method may return a promise (a
 * remote cache such as Redis); the in-memory {@link LruResultCache} answers
 * at once. A cache is an optimization, not state: it is not checkpointed,
 * and a restore starts from whatever the cache still holds.
 */
export interface ResultCache<TOut> {
  /**
   * The results held for `keys`, in order; undefined where none is held. A
   * lookup that throws or rejects counts in `cacheErrors` and every key is
   * sent: a cache outage costs calls, never records.
   */
  getMany(keys: readonly string[]): readonly (TOut | undefined)[] | Promise<readonly (TOut | undefined)[]>;
  /**
   * Keeps results (never `Error`s: failed items are not cached, nor results
   * the retry strategy's `retryOnResult` rejects). A store that
   * rejects counts in `cacheErrors`; one that throws at once refuses the
   * values themselves (e.g. a result that cannot be serialized) and fails
   * the call.
   */
  setMany(entries: readonly (readonly [key: string, value: TOut])[]): void | Promise<void>;
  /** Called by each operator subtask that uses the cache as it opens (e.g. to connect). */
  open?(): void | Promise<void>;
  /** Called by each subtask as it closes, after its last store began (e.g. to disconnect once the last user is gone). */
  close?(): void | Promise<void>;
}

/** Options of {@link LruResultCache}. */
export interface LruResultCacheOptions {
  /** Results kept; the least recently used goes first. */
  readonly maxEntries: number;
  /** How long a result stays valid after it was stored, in ms of `clock`. Default: for ever. */
  readonly ttl?: number | undefined;
  /** The clock of `ttl`: the job's (operators make theirs with the operator's clock). */
  readonly clock: Clock;
}

/** A bounded in-memory cache: least recently used out first, entries expire `ttl` ms after they were stored. */
export class LruResultCache<TOut> implements ResultCache<TOut> {
  private readonly maxEntries: number;
  private readonly ttl: number;
  private readonly clock: Clock;
  // A Map iterates in insertion order: re-inserting on each hit keeps the least recently used first.
  private readonly entries = new Map<string, { readonly value: TOut; readonly expiresAt: number }>();

  constructor(options: LruResultCacheOptions) {
    const check = new OptionChecker('LruResultCache');
    check.known(check.object(options), ['maxEntries', 'ttl', 'clock']);
    this.maxEntries = check.integer('maxEntries', options.maxEntries);
    this.ttl = check.optionalDuration('ttl', options.ttl, Number.POSITIVE_INFINITY, { positive: true, infinity: 'leave it out to keep results until evicted' });
    this.clock = check.optionalClock('clock', options.clock) ?? check.fail(`option 'clock' must be a Clock, got undefined`);
  }

  /** Results held now, expired ones included until they are looked up or evicted. */
  get size(): number {
    return this.entries.size;
  }

  getMany(keys: readonly string[]): (TOut | undefined)[] {
    const now = this.clock.now();
    return keys.map((key) => {
      const entry = this.entries.get(key);
      if (entry === undefined) return undefined;
      this.entries.delete(key);
      if (entry.expiresAt <= now) return undefined;
      this.entries.set(key, entry);
      return entry.value;
    });
  }

  setMany(entries: readonly (readonly [key: string, value: TOut])[]): void {
    const expiresAt = this.clock.now() + this.ttl;
    for (const [key, value] of entries) {
      this.entries.delete(key);
      this.entries.set(key, { value, expiresAt });
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    }
  }
}
