import { serialize } from 'node:v8';
import type { Redis } from 'ioredis';
import { deserializeValue, OptionChecker } from '@tributary/core';
import { checkConnection, closeClient, openClient, type RedisConnection } from './connection.js';

/** Options of {@link RedisResultCache}. */
export interface RedisResultCacheOptions {
  /** Where Redis is. Default: ioredis' default, `127.0.0.1:6379`. */
  readonly redis?: RedisConnection;
  /** Put before every key, so that caches (of other models, other jobs) sharing a server do not mix. Default `'tributary:cache:'`. */
  readonly prefix?: string;
  /** How long Redis keeps a result after it was stored, in ms (`SET ... PX`). Default: until Redis evicts it (`maxmemory-policy`). */
  readonly ttl?: number;
  /** Longest wait for Redis on a lookup or a store, in ms; past it the lookup counts as failed and every key is sent. Default 1000. */
  readonly timeout?: number;
}

const CACHE_OPTIONS = ['redis', 'prefix', 'ttl', 'timeout'];

/**
 * A `ResultCache` for the batch operators' `dedupe` kept in Redis, shared by
 * every subtask, process and run: a result computed once is not asked for
 * again until its `ttl` runs out.
 *
 * Details:
 * - One `MGET` per lookup, one pipeline of `SET key value PX ttl` per store.
 * - Values are stored with `v8.serialize` (Node's structured clone), not
 *   JSON: typed arrays (an embedding's `Float32Array`), `Map`, `Set`,
 *   `Date` and `BigInt` come back as they went in, where JSON would turn a
 *   `Float32Array` into an object of indices. Class instances come back as
 *   plain objects. A result that cannot be serialized (a function, a
 *   symbol) throws at once, naming its key, and fails the call.
 * - A cache outage costs calls, never records: commands fail at once while
 *   the connection is down (no offline queue) and after `timeout` when Redis
 *   does not answer; a failed lookup counts in the operator's `cacheErrors`
 *   and sends every key, a failed store is counted and dropped. ioredis
 *   reconnects by itself.
 * - Each subtask that uses it opens it: the first opens the connection, the
 *   last to close closes it.
 *
 * @example
 * ```ts
 * const vectors = AsyncDataStream.unorderedWaitBatch(docs, embed, {
 *   maxBatchSize: 64,
 *   resultMode: 'per-item',
 *   dedupe: { key: (doc) => doc.text, cache: new RedisResultCache({ redis: 'redis://127.0.0.1:6379', prefix: 'embeddings:v1:', ttl: 86_400_000 }) },
 * });
 * ```
 */
export class RedisResultCache<TOut> {
  private readonly redis: RedisConnection | undefined;
  private readonly prefix: string;
  private readonly ttl: number | undefined;
  private readonly timeout: number;
  private client: Redis | undefined = undefined;
  private users = 0;

  constructor(options: RedisResultCacheOptions = {}) {
    const check = new OptionChecker('RedisResultCache');
    check.known(check.object(options), CACHE_OPTIONS);
    if (options.redis !== undefined) checkConnection(check, options.redis);
    this.redis = options.redis;
    this.prefix = options.prefix === undefined ? 'tributary:cache:' : check.nonEmptyString('prefix', options.prefix);
    const ttl = check.optionalDuration('ttl', options.ttl, Number.POSITIVE_INFINITY, { positive: true, integer: true, infinity: 'leave it out to keep results until Redis evicts them' });
    this.ttl = Number.isFinite(ttl) ? ttl : undefined;
    this.timeout = check.optionalDuration('timeout', options.timeout, 1_000, { positive: true, integer: true });
  }

  /** Connects on the first user, waiting at most `timeout`: a server that is down at start costs calls, not the job. */
  async open(): Promise<void> {
    this.users++;
    const client = this.connection();
    if (client.status === 'wait') await client.connect().catch(() => undefined);
  }

  /** Disconnects once the last user closed. */
  close(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0 || this.client === undefined) return;
    closeClient(this.client);
    this.client = undefined;
  }

  async getMany(keys: readonly string[]): Promise<(TOut | undefined)[]> {
    const values = await this.connection().mgetBuffer(keys.map((key) => this.prefix + key));
    return values.map((value) => (value === null ? undefined : (deserializeValue(value) as TOut)));
  }

  /** Throws at once, naming the key, for a result that cannot be serialized; rejects when Redis does not store the others. */
  setMany(entries: readonly (readonly [key: string, value: TOut])[]): Promise<void> {
    const pipeline = this.connection().pipeline();
    for (const [key, value] of entries) {
      let bytes: Buffer;
      try {
        bytes = serialize(value);
      } catch (error) {
        throw new TypeError(`RedisResultCache: the result for key '${key}' cannot be stored: ${(error as Error).message}`, { cause: error });
      }
      if (this.ttl === undefined) pipeline.set(this.prefix + key, bytes);
      else pipeline.set(this.prefix + key, bytes, 'PX', this.ttl);
    }
    return pipeline.exec().then((results) => {
      const refused = results === null ? new Error('the pipeline was discarded') : results.find(([error]) => error !== null)?.[0];
      if (refused !== undefined && refused !== null) throw refused;
    });
  }

  private connection(): Redis {
    this.client ??= openClient(this.redis, `tributary:cache:${this.prefix}`, {
      lazyConnect: true,
      connectTimeout: this.timeout,
      commandTimeout: this.timeout,
      // While the connection is down, fail at once rather than queue: the call is made without the cache.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    });
    return this.client;
  }
}
