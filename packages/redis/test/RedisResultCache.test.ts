/**
 * RedisResultCache against the real server: what it stores and how, and
 * whole jobs with `dedupe` backed by it (across two runs, and with the
 * server stopped mid-run).
 */
import { AsyncDataStream } from '@tributary/async';
import { StreamExecutionEnvironment, SystemClock } from '@tributary/core';
import { collect, FakeBatchService } from '@tributary/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultCache } from '../src/index.js';
import { adminClient, redisUrl, uniqueKey } from './support/redis.js';
import { startRedisServer } from './support/redisServer.js';

let admin: Redis;
beforeAll(() => {
  admin = adminClient();
});
afterAll(() => admin.disconnect());

/** A cache under a prefix no other test uses, open until the test closes it. */
async function openCache<T>(options: { ttl?: number; redis?: string } = {}): Promise<{ cache: RedisResultCache<T>; prefix: string }> {
  const prefix = `${uniqueKey('cache')}:`;
  const cache = new RedisResultCache<T>({ redis: redisUrl(), prefix, ...options });
  await cache.open();
  return { cache, prefix };
}

describe('RedisResultCache', () => {
  it('keeps values under its prefix with v8 serialization: typed arrays and maps come back as they went in', async () => {
    const { cache, prefix } = await openCache<{ vector: Float32Array; tags: Map<string, number> }>();
    const value = { vector: new Float32Array([0.25, -1.5, 3]), tags: new Map([['a', 1]]) };
    await cache.setMany([['doc one', value]]);
    expect(await admin.exists(`${prefix}doc one`)).toBe(1);
    const [held, missing] = await cache.getMany(['doc one', 'doc two']);
    expect(held?.vector).toBeInstanceOf(Float32Array);
    expect(held).toEqual(value);
    // In memory of its own, not a view into the reply (or Node's shared pool of small buffers).
    expect([held?.vector.byteOffset, held?.vector.buffer.byteLength]).toEqual([0, 12]);
    expect(missing).toBeUndefined();
    cache.close();
  });

  it('sets the TTL on every key it stores (PX), and none without a ttl', async () => {
    const { cache, prefix } = await openCache<string>({ ttl: 60_000 });
    await cache.setMany([
      ['a', 'A'],
      ['b', 'B'],
    ]);
    for (const key of ['a', 'b']) {
      const ttl = await admin.pttl(`${prefix}${key}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    cache.close();
    const forever = await openCache<string>();
    await forever.cache.setMany([['a', 'A']]);
    expect(await admin.pttl(`${forever.prefix}a`)).toBe(-1);
    forever.cache.close();
  });

  it('throws at once, naming the key, for a result it cannot serialize', async () => {
    const { cache, prefix } = await openCache<unknown>();
    expect(() => cache.setMany([['fn', { run: () => 1 }]])).toThrow(/RedisResultCache: the result for key 'fn' cannot be stored: .*could not be cloned/);
    expect(await admin.exists(`${prefix}fn`)).toBe(0);
    cache.close();
  });
});

interface Embedded {
  readonly text: string;
  readonly length: number;
}

/** inputs -> dedupe by text, backed by `cache` -> a simulated service; returns what came out, the calls and the metrics. */
async function runJob(texts: readonly string[], cache: RedisResultCache<Embedded>, onCall?: (n: number) => Promise<void>) {
  const clock = new SystemClock();
  let calls = 0;
  const service = new FakeBatchService<string, Embedded>({ clock, handler: (batch) => batch.map((text) => ({ text, length: text.length })), latency: { baseMs: 1, perItemMs: 0 } });
  const sent: string[][] = [];
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 1 });
  const out = collect(
    AsyncDataStream.orderedWaitBatch(
      env.fromCollection([...texts]),
      async (batch, { signal }) => {
        sent.push([...batch]);
        await onCall?.(++calls);
        return service.callPerItem(batch, { signal });
      },
      { maxBatchSize: 4, maxBatchDelay: 0, resultMode: 'per-item', dedupe: { key: (text) => text, cache } },
    ).name('embed'),
  );
  const result = await env.execute('cache job');
  const metric = (name: string) => result.metrics[`job.cache job.operator.embed.0.${name}`] as number;
  return { out, sent, metric };
}

describe('dedupe backed by RedisResultCache', () => {
  it('answers a second run from what the first stored: no call for the keys it holds', async () => {
    const prefix = `${uniqueKey('job')}:`;
    const first = await runJob(['a', 'b', 'a', 'c', 'd', 'e', 'b', 'f'], new RedisResultCache({ redis: redisUrl(), prefix, ttl: 60_000 }));
    expect(first.sent.flat().sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);

    const second = await runJob(['f', 'a', 'g', 'b', 'c', 'c', 'd', 'e'], new RedisResultCache({ redis: redisUrl(), prefix, ttl: 60_000 }));
    expect(second.out.map((e) => e.text)).toEqual(['f', 'a', 'g', 'b', 'c', 'c', 'd', 'e']);
    expect(second.out.every((e) => e.length === e.text.length)).toBe(true);
    // Only 'g' is new: one call of one record; the second batch is answered in full and makes no call.
    expect(second.sent).toEqual([['g']]);
    expect(['batches', 'records', 'cacheHits', 'cacheMisses', 'cacheErrors'].map(second.metric)).toEqual([1, 1, 7, 1, 0]);
  });

  it('keeps the job going when the server stops mid-run: lookups fail fast and are counted, every record comes out', async () => {
    const server = await startRedisServer();
    let stopped: Promise<void> | undefined;
    // Batches of 4 over 10 texts: the third batch finds two of the first's results, then the server stops.
    const texts = Array.from({ length: 40 }, (_, i) => `text ${i % 10}`);
    try {
      const run = await runJob(texts, new RedisResultCache({ redis: server.url, prefix: 'down:', timeout: 500 }), async (call) => {
        if (call === 3) await (stopped = server.stop());
      });
      expect(run.out.map((e) => e.text)).toEqual(texts);
      expect(run.metric('cacheHits')).toBe(2);
      expect(run.metric('cacheErrors')).toBeGreaterThan(0);
      expect(run.metric('failures')).toBe(0);
      // Each record was sent, answered by the cache or shared a call: none was lost.
      expect(run.metric('records') + run.metric('cacheHits') + run.metric('dedupedRecords')).toBe(40);
    } finally {
      await (stopped ?? server.stop());
    }
  });
});
