import { EventLog, InvalidJobError, MetricRegistry, silentLogger, SystemClock, type SinkWriter } from '@tributary/core';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentKey, RedisStreamSink, type RedisStreamSinkOptions } from '../src/index.js';
import { adminClient, eventually, readAll, redisUrl, uniqueKey } from './support/redis.js';
import { startRedisServer } from './support/redisServer.js';

interface Row {
  readonly id: number;
  readonly text: string;
}

const silentLog = new EventLog(silentLogger, new SystemClock(), { job: 'test' });
let admin: Redis;
const writers: SinkWriter<Row>[] = [];

beforeAll(() => {
  admin = adminClient();
});
afterAll(async () => {
  await Promise.all(writers.map((w) => Promise.resolve(w.close?.())));
  admin.disconnect();
});

function writer(options: Partial<RedisStreamSinkOptions<Row>> & { stream: string }): SinkWriter<Row> {
  const sink = new RedisStreamSink<Row>({ redis: redisUrl(), encode: (r) => ({ id: r.id, text: r.text }), ...options });
  const w = sink.createWriter({ subtaskIndex: 0, parallelism: 1, metrics: new MetricRegistry().group('test'), log: silentLog, restoredState: undefined });
  writers.push(w);
  return w;
}

const rows = (n: number) => Array.from({ length: n }, (_, id) => ({ id, text: `row ${id}` }));

/** Writes like the runtime does: waits whenever `write` asks to. */
async function writeAll(w: SinkWriter<Row>, records: readonly Row[]): Promise<number> {
  let waits = 0;
  for (const r of records) {
    const pending = w.write(r);
    if (pending !== undefined) {
      waits++;
      await pending;
    }
  }
  return waits;
}

describe('RedisStreamSink', () => {
  it('resolves the checkpoint snapshot only once every XADD before the barrier has its reply', async () => {
    const stream = uniqueKey('sink');
    const w = writer({ stream, batchSize: 100, maxInFlightBatches: 1_000 });
    for (const r of rows(2_000)) expect(w.write(r)).toBeUndefined();
    await w.snapshotState?.(1);
    expect(await admin.xlen(stream)).toBe(2_000);
    const entries = await readAll(admin, stream);
    expect(entries.map((e) => Number(e.fields?.id))).toEqual(rows(2_000).map((r) => r.id));
  });

  it('pipelines: a partly filled batch goes out after the current chunk, without a checkpoint', async () => {
    const stream = uniqueKey('sink-chunk');
    const w = writer({ stream, batchSize: 1_000 });
    await writeAll(w, rows(10));
    // No checkpoint, no flush: the batch goes out on its own once the chunk is written.
    await eventually(async () => (await admin.xlen(stream)) === 10, 'the 10 entries written', 5_000);
    expect(await admin.xlen(stream)).toBe(10);
  });

  it('holds back the writer while maxInFlightBatches pipelines await their replies', async () => {
    const stream = uniqueKey('sink-backpressure');
    const w = writer({ stream, batchSize: 10, maxInFlightBatches: 2 });
    const waits = await writeAll(w, rows(100));
    expect(waits).toBeGreaterThan(0);
    await w.flush?.();
    expect(await admin.xlen(stream)).toBe(100);
  });

  it('writes a content key by default, a key of the record when given, none when told', async () => {
    const stream = uniqueKey('sink-keys');
    const byContent = writer({ stream });
    const byId = writer({ stream, idempotencyKey: (r) => `row-${r.id}`, idempotencyField: 'key' });
    const none = writer({ stream, idempotencyKey: false });
    await writeAll(byContent, [{ id: 1, text: 'a' }, { id: 1, text: 'a' }, { id: 2, text: 'a' }]);
    await byContent.flush?.();
    await writeAll(byId, [{ id: 3, text: 'b' }]);
    await byId.flush?.();
    await writeAll(none, [{ id: 4, text: 'c' }]);
    await none.flush?.();

    const fields = (await readAll(admin, stream)).map((e) => e.fields);
    expect(fields).toEqual([
      { id: '1', text: 'a', 'idempotency-key': contentKey({ id: '1', text: 'a' }) },
      { id: '1', text: 'a', 'idempotency-key': contentKey({ id: '1', text: 'a' }) },
      { id: '2', text: 'a', 'idempotency-key': contentKey({ id: '2', text: 'a' }) },
      { id: '3', text: 'b', key: 'row-3' },
      { id: '4', text: 'c' },
    ]);
    expect(fields[0]?.['idempotency-key']).not.toBe(fields[2]?.['idempotency-key']);
  });

  it('caps the stream near maxLen (MAXLEN ~)', async () => {
    const stream = uniqueKey('sink-maxlen');
    const w = writer({ stream, maxLen: 500 });
    await writeAll(w, rows(5_000));
    await w.flush?.();
    const length = await admin.xlen(stream);
    // Approximate trimming removes whole macro nodes (100 entries by default): never below the cap, a node or so above it.
    expect(length).toBeGreaterThanOrEqual(500);
    expect(length).toBeLessThan(1_000);
    const last = (await readAll(admin, stream)).at(-1);
    expect(last?.fields?.id).toBe('4999');
  });

  it('fails the checkpoint, then every write, when Redis refuses an XADD', async () => {
    const stream = uniqueKey('sink-wrongtype');
    await admin.set(stream, 'not a stream');
    const w = writer({ stream });
    await writeAll(w, [{ id: 1, text: 'x' }]);
    await expect(Promise.resolve(w.snapshotState?.(1))).rejects.toThrow(/RedisStreamSink: XADD to stream '.*sink-wrongtype.*' failed: WRONGTYPE/);
    expect(() => w.write({ id: 2, text: 'y' })).toThrow(/WRONGTYPE/);
  });

  it('closes at once while Redis is down with writes in flight (a cancelled job), leaving no connection retrying', async () => {
    const server = await startRedisServer();
    const stream = uniqueKey('close-down');
    const w = writer({ stream, redis: server.url });
    await writeAll(w, rows(3));
    await w.snapshotState?.(1);
    await server.stop();
    const client = (w as unknown as { client: Redis }).client;
    await eventually(() => client.status === 'reconnecting', 'the client to notice');
    // These wait in ioredis' offline queue for a server that is gone: close() used to wait for their replies.
    await writeAll(w, rows(2));
    await w.close?.();
    expect(client.status).toBe('end');
  });

  it('refuses a record whose fields clash with the idempotency field, and one without fields', async () => {
    const stream = uniqueKey('sink-clash');
    const clash = writer({ stream, encode: (r) => ({ 'idempotency-key': String(r.id) }) });
    expect(() => clash.write({ id: 1, text: '' })).toThrow(/field 'idempotency-key'.*rename it or set idempotencyField/);
    const empty = writer({ stream, encode: () => ({}), idempotencyKey: false });
    expect(() => empty.write({ id: 1, text: '' })).toThrow(/no fields/);
  });

  it.each<[string, unknown, string]>([
    ['an array', ['red', 'green'], "an array"],
    ['an object', { k: 1 }, 'an object'],
    ['undefined', undefined, 'undefined'],
  ])('refuses a field value that is %s, naming the field, before anything is sent', (_, value, shown) => {
    const w = writer({ stream: uniqueKey('sink-field-type'), encode: () => ({ id: '1', tags: value as string }), idempotencyKey: false });
    expect(() => w.write({ id: 1, text: '' })).toThrow(
      `RedisStreamSink: encode() returned ${shown} for the field 'tags'; a field value must be a string, a number or a Buffer`,
    );
  });

  it.each<[string, unknown, string]>([
    ['undefined', undefined, 'undefined'],
    ['an empty string', '', "''"],
    ['an object', { id: 1 }, 'an object'],
    ['a number', 7, '7'],
  ])('refuses an idempotency key that is %s (ioredis would write "" or "[object Object]"), before anything is sent', (_, key, shown) => {
    const w = writer({ stream: uniqueKey('sink-key-type'), encode: (r) => ({ text: r.text }), idempotencyKey: () => key as string });
    expect(() => w.write({ id: 1, text: '' })).toThrow(
      `RedisStreamSink: idempotencyKey() returned ${shown}; it must return a non-empty string that identifies the record`,
    );
  });

  it.each<[Partial<RedisStreamSinkOptions<Row>>, RegExp]>([
    [{ stream: '' }, /option 'stream'/],
    [{ maxLen: 0 }, /option 'maxLen' must be an integer >= 1/],
    [{ batchSize: 0 }, /option 'batchSize'/],
    [{ maxInFlightBatches: 2.5 }, /option 'maxInFlightBatches'/],
    [{ idempotencyKey: 'id' as never }, /option 'idempotencyKey'/],
    [{ encode: undefined as never }, /option 'encode'/],
  ])('rejects bad options when the job is built: %o', (bad, message) => {
    const build = (): unknown => new RedisStreamSink<Row>({ stream: 's', encode: (r) => ({ id: r.id }), ...bad });
    expect(build).toThrow(message);
    expect(build).toThrow(InvalidJobError);
  });
});

describe('contentKey', () => {
  const fields = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.string({ maxLength: 16 }), fc.integer()), { maxKeys: 6 });

  it('does not depend on the order of the fields, and equals for a number and its string', () => {
    fc.assert(
      fc.property(fields, (f) => {
        const reversed = Object.fromEntries(Object.entries(f).reverse());
        const asStrings = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, String(v)]));
        expect(contentKey(reversed)).toBe(contentKey(f));
        expect(contentKey(asStrings)).toBe(contentKey(f));
      }),
    );
  });

  it('differs when any field differs, also when only the boundary between name and value moves', () => {
    fc.assert(
      fc.property(fields, fields, (a, b) => {
        const same = JSON.stringify(Object.entries(a).map(([k, v]) => [k, String(v)]).sort()) ===
          JSON.stringify(Object.entries(b).map(([k, v]) => [k, String(v)]).sort());
        expect(contentKey(a) === contentKey(b)).toBe(same);
      }),
    );
    expect(contentKey({ ab: 'c' })).not.toBe(contentKey({ a: 'bc' }));
  });
});
