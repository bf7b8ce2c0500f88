import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { RedisResultCache, RedisStreamSink, RedisStreamSource } from '../src/index.js';

/**
 * RedisStreamSource and RedisStreamSink with bad options: each row must fail
 * when the connector is created (no Redis needed) with an InvalidJobError
 * whose message holds `error`. Add a row for every new option.
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const source = (options: Record<string, unknown>) => () =>
  new RedisStreamSource({ stream: 's', group: 'g', consumer: 'c', decode: (fields: Readonly<Record<string, string>>) => fields, ...options });
const sink = (options: Record<string, unknown>) => () => new RedisStreamSink({ stream: 's', encode: () => ({ a: '1' }), ...options });

const cache = (options: Record<string, unknown>) => () => new RedisResultCache(options);

const cases: readonly BadInput[] = [
  ['source: no options', () => new RedisStreamSource(undefined as never), 'RedisStreamSource: needs an options object'],
  ['source: misspelled key', source({ consumerGroup: 'g' }), "RedisStreamSource: unknown option 'consumerGroup' (known: redis, stream, group"],
  ['source: near miss', source({ maxUnAcked: 5 }), "unknown option 'maxUnAcked'; did you mean 'maxUnacked'?"],
  ['source: near miss (createGroup)', source({ creategroup: '$' }), "did you mean 'createGroup'?"],
  ['source: reclaim misspelled', source({ reclaim: { minIdle: 1000 } }), "unknown option 'reclaim.minIdle'; did you mean 'reclaim.minIdleMs'?"],
  ['source: reclaim not an object', source({ reclaim: true }), "option 'reclaim' must be an object, got true"],
  ['source: count overflow', source({ count: 2 ** 60 }), "option 'count' must be an integer <= 9007199254740991"],
  ['source: maxUnacked NaN', source({ maxUnacked: Number.NaN }), "option 'maxUnacked' must be an integer >= 1, got NaN"],
  ['source: ack on_read', source({ ack: 'on_read' }), "option 'ack' must be 'on-checkpoint' or 'on-read', got 'on_read'"],
  ['source: redis a number', source({ redis: 6379 }), "option 'redis' must be an object, got 6379"],
  ['source: redis empty', source({ redis: '' }), "option 'redis' must be a non-empty string, got ''"],
  ['source: redis not a URL', source({ redis: 'notaurl' }), "option 'redis' must be a redis:// or rediss:// URL, a socket path or an options object, got 'notaurl'"],
  ['sink: redis an http URL', sink({ redis: 'http://127.0.0.1:6379' }), "option 'redis' must be a redis:// or rediss:// URL"],
  ['source: ioredis option misspelled', source({ redis: { hots: 'cache', port: 6379 } }), "RedisStreamSource: unknown option 'redis.hots'; did you mean 'redis.host'? (known in 'redis': host, port,"],
  ['source: ioredis option of another client', source({ redis: { socket: { host: 'cache' } } }), "RedisStreamSource: unknown option 'redis.socket'"],
  ['source: ioredis option in the URL query', source({ redis: 'redis://127.0.0.1:6379/0?hots=cache' }), "RedisStreamSource: unknown option 'redis.hots'; did you mean 'redis.host'?"],
  ['source: ioredis option in a socket path query', source({ redis: '/tmp/redis.sock?dbb=2' }), "RedisStreamSource: unknown option 'redis.dbb'; did you mean 'redis.db'?"],
  ['source: URL that does not parse', source({ redis: 'redis://:pa#ss@127.0.0.1:6379' }), "RedisStreamSource: option 'redis' is not a valid URL"],
  // null is a wrong value, not the default: it used to fall back to 'idempotency-key' silently.
  ['sink: idempotencyField null', sink({ idempotencyField: null }), "RedisStreamSink: option 'idempotencyField' must be a non-empty string, got null"],
  ['sink: idempotencyField without a key', sink({ idempotencyKey: false, idempotencyField: 'key' }), "option 'idempotencyField' names where the key goes, but 'idempotencyKey' is false: leave one out"],
  ['sink: ioredis option misspelled', sink({ redis: { prot: 6380 } }), "RedisStreamSink: unknown option 'redis.prot'; did you mean 'redis.port'?"],
  ['sink: ioredis option in the URL query', sink({ redis: 'rediss://cache:6380?familly=6' }), "RedisStreamSink: unknown option 'redis.familly'; did you mean 'redis.family'?"],
  ['cache: ioredis option misspelled', cache({ redis: { passwrod: 'secret' } }), "RedisResultCache: unknown option 'redis.passwrod'; did you mean 'redis.password'?"],
  ['source: clock not a clock', source({ clock: Date }), "option 'clock' must be a Clock (an object with now() and schedule()), got a function"],
  ['sink: no options', () => new RedisStreamSink(null as never), 'RedisStreamSink: needs an options object'],
  ['sink: misspelled key', sink({ maxlen: 1000 }), "RedisStreamSink: unknown option 'maxlen'; did you mean 'maxLen'?"],
  ['sink: near miss', sink({ batchsize: 10 }), "did you mean 'batchSize'?"],
  ['sink: maxLen negative', sink({ maxLen: -1 }), "option 'maxLen' must be an integer >= 1, got -1"],
  ['sink: batchSize 2.5', sink({ batchSize: 2.5 }), "option 'batchSize' must be an integer >= 1, got 2.5"],
  ['sink: maxInFlightBatches overflow', sink({ maxInFlightBatches: Number.MAX_VALUE }), "option 'maxInFlightBatches' must be an integer <= 9007199254740991"],
  ['sink: redis an array', sink({ redis: [] }), "option 'redis' must be an object, got an array"],
  ['cache: misspelled key', cache({ ttlMs: 1000 }), "RedisResultCache: unknown option 'ttlMs'"],
  ['cache: ttl infinite', cache({ ttl: Number.POSITIVE_INFINITY }), "option 'ttl' must be a finite whole number of milliseconds > 0, got Infinity (leave it out"],
  ['cache: ttl fractional', cache({ ttl: 1.5 }), "option 'ttl' must be a finite whole number of milliseconds > 0, got 1.5"],
  ['cache: timeout 0', cache({ timeout: 0 }), "option 'timeout' must be a finite whole number of milliseconds > 0, got 0"],
  ['cache: prefix empty', cache({ prefix: '' }), "option 'prefix' must be a non-empty string, got ''"],
  ['cache: redis a number', cache({ redis: 6379 }), "option 'redis' must be an object, got 6379"],
];

describe('options are checked when the connector is created', () => {
  it.each(cases)('%s', (_title, build, error) => {
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(error);
  });
});

describe('ioredis options are passed through when ioredis takes them', () => {
  const connections: readonly unknown[] = [
    { host: 'cache', port: 6380, username: 'u', password: 'p', db: 2, tls: {}, connectTimeout: 500, retryStrategy: () => null, maxRetriesPerRequest: null },
    { sentinels: [{ host: 'sentinel', port: 26379 }], name: 'mymaster', role: 'master', sentinelPassword: 'p' },
    { path: '/tmp/redis.sock', keyPrefix: 'app:', protocol: 2, replyMapping: 'resp3', lazyConnect: true },
    'redis://u:p@cache:6380/2?family=6&connectTimeout=500',
    '/tmp/redis.sock?db=2',
  ];
  it.each(connections)('%o', (redis) => {
    expect(source({ redis })).not.toThrow();
    expect(sink({ redis })).not.toThrow();
    expect(cache({ redis })).not.toThrow();
  });

  it('does not show a URL that does not parse: it may hold a password', () => {
    expect(source({ redis: 'redis://:pa#ss@127.0.0.1:6379' })).not.toThrow(/pa#ss/);
  });
});
