import { InvalidJobError, ManualClock, silentLogger, type LogFields, type Logger, type SourceReader } from '@tributary/core';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RunningRedis } from './support/redisServer.js';
import {
  RedisStreamSource,
  type RedisStreamPosition,
  type RedisStreamRecord,
  type RedisStreamSourceOptions,
} from '../src/index.js';
import {
  addEntries,
  adminClient,
  eventually,
  idleAtLeast,
  pendingByConsumer,
  pendingCount,
  pendingIds,
  readerContext,
  redisUrl,
  uniqueKey,
} from './support/redis.js';

type Reader = SourceReader<RedisStreamRecord<number>, RedisStreamPosition>;

let admin: Redis;
const open: Reader[] = [];

beforeAll(() => {
  admin = adminClient();
});
afterAll(async () => {
  await Promise.all(open.map((r) => Promise.resolve(r.close?.())));
  admin.disconnect();
});

const numbered = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ n: String(from + i) }));

function options(stream: string, overrides: Partial<RedisStreamSourceOptions<number>> = {}): RedisStreamSourceOptions<number> {
  return {
    redis: redisUrl(),
    stream,
    group: 'g',
    consumer: 'c',
    createGroup: '0',
    blockMs: 10,
    decode: (fields) => {
      const n = Number(fields.n);
      if (!Number.isInteger(n)) throw new Error(`not a number: ${JSON.stringify(fields.n)}`);
      return n;
    },
    ...overrides,
  };
}

async function startReader(opts: RedisStreamSourceOptions<number>, signal?: AbortSignal, logger?: Logger, checkpointing = true, drainSignal?: AbortSignal): Promise<Reader> {
  const reader = new RedisStreamSource(opts).createReader(readerContext(signal, logger, checkpointing, drainSignal));
  open.push(reader);
  await reader.start?.(undefined);
  return reader;
}

/** A consumer 'dead' reads `n` entries and closes without acking them: they stay pending under its name. */
async function leavePending(stream: string, n: number, overrides: Partial<RedisStreamSourceOptions<number>> = {}): Promise<void> {
  const dead = await startReader(options(stream, { consumer: 'dead', ...overrides }));
  await readN(dead, n);
  await dead.close?.();
}

async function read(reader: Reader, max = 1_000): Promise<RedisStreamRecord<number>[]> {
  const records = await reader.read(max);
  if (records === null) throw new Error('the Redis source never ends');
  return [...records];
}

/** Reads until `n` records came back (a read may return fewer: the pending-list rescan ends with an empty read). */
async function readN(reader: Reader, n: number): Promise<RedisStreamRecord<number>[]> {
  const all: RedisStreamRecord<number>[] = [];
  for (let attempts = 0; all.length < n && attempts < 100; attempts++) all.push(...(await read(reader, n - all.length)));
  return all;
}

const values = (records: readonly RedisStreamRecord<number>[]) => records.map((r) => (r.kind === 'entry' ? r.value : r.id));

describe('RedisStreamSource reader', () => {
  it('acks entries only when the checkpoint covering them completes', async () => {
    const stream = uniqueKey('ack');
    const ids = await addEntries(admin, stream, numbered(0, 10));
    const reader = await startReader(options(stream));

    const first = await readN(reader, 10);
    expect(values(first)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first.map((r) => r.id)).toEqual(ids);
    expect(first.every((r) => r.delivery === 'new')).toBe(true);
    const atBarrier = reader.position();
    expect(atBarrier).toEqual({ consumer: 'c', returned: 10 });

    const laterIds = await addEntries(admin, stream, numbered(10, 5));
    expect(values(await readN(reader, 5))).toEqual([10, 11, 12, 13, 14]);
    expect(await pendingCount(admin, stream, 'g')).toBe(15);

    await reader.notifyCheckpointComplete?.(1, atBarrier);
    expect(await pendingIds(admin, stream, 'g')).toEqual(laterIds);
    await reader.notifyCheckpointComplete?.(2, reader.position());
    expect(await pendingCount(admin, stream, 'g')).toBe(0);
  });

  it('does not count what a pending read returns in a barrier taken while it waits', async () => {
    const stream = uniqueKey('barrier');
    const reader = await startReader(options(stream, { createGroup: '$', blockMs: 5_000 }));
    // Nothing to read: the read blocks in Redis until entries arrive.
    const pending = reader.read(100);
    const atBarrier = reader.position();
    const ids = await addEntries(admin, stream, numbered(0, 3));
    const records = await pending;
    expect(records?.map((r) => r.id)).toEqual(ids);
    expect(atBarrier.returned).toBe(0);

    await reader.notifyCheckpointComplete?.(1, atBarrier);
    expect(await pendingCount(admin, stream, 'g')).toBe(3);
    await reader.notifyCheckpointComplete?.(2, reader.position());
    expect(await pendingCount(admin, stream, 'g')).toBe(0);
  });

  it("re-reads its own pending entries first after a restart, then new ones", async () => {
    const stream = uniqueKey('restart');
    const ids = await addEntries(admin, stream, numbered(0, 6));
    const crashed = await startReader(options(stream, { count: 4 }));
    expect(values(await readN(crashed, 4))).toEqual([0, 1, 2, 3]);
    // Gone without acking: its entries stay pending under its name.
    await crashed.close?.();
    const moreIds = await addEntries(admin, stream, numbered(6, 2));

    const restarted = await startReader(options(stream, { count: 4 }));
    const again = await read(restarted);
    expect(again.map((r) => r.id)).toEqual(ids.slice(0, 4));
    expect(again.every((r) => r.delivery === 'pending')).toBe(true);
    const fresh = await readN(restarted, 4);
    expect(fresh.map((r) => r.id)).toEqual([...ids.slice(4), ...moreIds]);
    expect(fresh.every((r) => r.delivery === 'new')).toBe(true);

    await restarted.notifyCheckpointComplete?.(1, restarted.position());
    expect(await pendingCount(admin, stream, 'g')).toBe(0);
  });

  it('claims what a dead consumer left pending once it is idle for minIdleMs, and never hands out an entry it holds twice', async () => {
    const stream = uniqueKey('claim');
    const ids = await addEntries(admin, stream, numbered(0, 5));
    await leavePending(stream, 5);

    const patient = await startReader(options(stream, { consumer: 'patient', reclaim: { minIdleMs: 3_600_000 } }));
    expect(await read(patient)).toEqual([]);
    // Given only the interval, minIdleMs keeps its default (60 s): these entries are not that old.
    const defaulted = await startReader(options(stream, { consumer: 'defaulted', reclaim: { intervalMs: 1_000 } }));
    expect(await read(defaulted)).toEqual([]);
    expect(await pendingByConsumer(admin, stream, 'g')).toEqual(new Map([['dead', 5]]));

    const clock = new ManualClock();
    await idleAtLeast(admin, stream, 'g', 5, 1);
    const eager = await startReader(options(stream, { consumer: 'eager', clock, reclaim: { minIdleMs: 1, intervalMs: 1_000 } }));
    const claimed = await read(eager);
    expect(claimed.map((r) => r.id)).toEqual(ids);
    expect(claimed.every((r) => r.delivery === 'claimed')).toBe(true);
    expect(await pendingByConsumer(admin, stream, 'g')).toEqual(new Map([['eager', 5]]));

    // The next scan waits for the interval, and then re-claims only entries it already holds: nothing comes out twice.
    expect(await read(eager)).toEqual([]);
    await clock.advance(1_000);
    expect(await read(eager)).toEqual([]);
    await eager.notifyCheckpointComplete?.(1, eager.position());
    expect(await pendingCount(admin, stream, 'g')).toBe(0);
  });

  it('runs the next claim scan only after intervalMs', async () => {
    const stream = uniqueKey('claim-interval');
    const clock = new ManualClock();
    const survivor = await startReader(options(stream, { consumer: 'survivor', clock, reclaim: { minIdleMs: 1, intervalMs: 5_000 } }));
    expect(await read(survivor)).toEqual([]);

    const ids = await addEntries(admin, stream, numbered(0, 3));
    await leavePending(stream, 3);
    expect(await read(survivor)).toEqual([]);
    await clock.advance(4_999);
    expect(await read(survivor)).toEqual([]);
    await idleAtLeast(admin, stream, 'g', 3, 1);
    await clock.advance(1);
    expect((await read(survivor)).map((r) => [r.id, r.delivery])).toEqual(ids.map((id) => [id, 'claimed']));
  });

  it('turns an entry its decoder rejects into a decode failure with the id, the fields and the error', async () => {
    const stream = uniqueKey('decode');
    const ids = await addEntries(admin, stream, [{ n: '1' }, { n: 'one' }, { other: 'x' }, { n: '4' }]);
    const reader = await startReader(options(stream));
    expect(await readN(reader, 4)).toEqual([
      { kind: 'entry', id: ids[0], value: 1, delivery: 'new' },
      { kind: 'decode-failure', id: ids[1], stream, fields: { n: 'one' }, error: 'not a number: "one"', delivery: 'new' },
      { kind: 'decode-failure', id: ids[2], stream, fields: { other: 'x' }, error: 'not a number: undefined', delivery: 'new' },
      { kind: 'entry', id: ids[3], value: 4, delivery: 'new' },
    ]);
  });

  it('reports an entry deleted while it was pending as a decode failure when it is re-read', async () => {
    const stream = uniqueKey('deleted');
    const ids = await addEntries(admin, stream, numbered(0, 3));
    const crashed = await startReader(options(stream));
    await readN(crashed, 3);
    await crashed.close?.();
    await admin.xdel(stream, ids[1]!);

    const restarted = await startReader(options(stream));
    const records = await read(restarted);
    expect(records.map((r) => [r.id, r.kind])).toEqual([
      [ids[0], 'entry'],
      [ids[1], 'decode-failure'],
      [ids[2], 'entry'],
    ]);
    expect(records[1]).toMatchObject({ fields: null, error: expect.stringContaining('deleted') });
  });

  it('reports an entry deleted while pending as a decode failure when another consumer claims it too', async () => {
    const stream = uniqueKey('deleted-claimed');
    const ids = await addEntries(admin, stream, numbered(0, 3));
    await leavePending(stream, 3);
    await admin.xdel(stream, ids[1]!);
    await idleAtLeast(admin, stream, 'g', 3, 1);

    // XAUTOCLAIM drops a deleted entry from the pending list and names it apart (Redis 7): it was lost without a trace.
    const survivor = await startReader(options(stream, { consumer: 'survivor', clock: new ManualClock(), reclaim: { minIdleMs: 1, intervalMs: 1_000 } }));
    const records = await read(survivor);
    expect(records.map((r) => [r.id, r.kind, r.delivery])).toEqual([
      [ids[0], 'entry', 'claimed'],
      [ids[2], 'entry', 'claimed'],
      [ids[1], 'decode-failure', 'claimed'],
    ]);
    expect(records[2]).toMatchObject({ fields: null, error: expect.stringContaining('deleted') });
  });

  it('hands a field named __proto__ to decode as a field like any other', async () => {
    const stream = uniqueKey('proto');
    await admin.xadd(stream, '*', '__proto__', 'p', 'n', '7');
    const seen: Record<string, string>[] = [];
    const reader = await startReader(options(stream, { decode: (fields) => (seen.push({ ...fields }), Number(fields.n)) }));
    expect(values(await readN(reader, 1))).toEqual([7]);
    // Assigned to a plain object, the field set the object's prototype instead, and vanished.
    expect(Object.keys(seen[0]!)).toEqual(['__proto__', 'n']);
    expect(Object.getOwnPropertyDescriptor(seen[0], '__proto__')?.value).toBe('p');
  });

  it("with ack 'on-read', acks a batch when the next one is asked for", async () => {
    const stream = uniqueKey('on-read');
    await addEntries(admin, stream, numbered(0, 12));
    const reader = await startReader(options(stream, { ack: 'on-read', count: 5 }));
    await readN(reader, 5);
    expect(await pendingCount(admin, stream, 'g')).toBe(5);
    const second = await readN(reader, 5);
    await eventually(async () => (await pendingCount(admin, stream, 'g')) === 5, 'the first batch acked');
    expect(await pendingIds(admin, stream, 'g')).toEqual(second.map((r) => r.id));
    // A checkpoint changes nothing in this mode.
    await reader.notifyCheckpointComplete?.(1, reader.position());
    expect(await pendingCount(admin, stream, 'g')).toBe(5);
  });

  it('reads nothing more once maxUnacked entries wait for a checkpoint', async () => {
    const stream = uniqueKey('max-unacked');
    await addEntries(admin, stream, numbered(0, 10));
    const reader = await startReader(options(stream, { maxUnacked: 4 }));
    expect(values(await readN(reader, 4))).toEqual([0, 1, 2, 3]);

    let resolved = false;
    const blocked = Promise.resolve(reader.read(100)).then((r) => {
      resolved = true;
      return r;
    });
    // A round trip to Redis: a read that did not wait would have come back by now.
    await admin.ping();
    await admin.ping();
    expect(resolved).toBe(false);
    expect(await pendingCount(admin, stream, 'g')).toBe(4);

    await reader.notifyCheckpointComplete?.(1, reader.position());
    expect(await blocked).toEqual([]);
    expect(values(await readN(reader, 4))).toEqual([4, 5, 6, 7]);
  });

  it('a read waiting for room returns when the job drains (its acks come with the final checkpoint, after the read)', async () => {
    const stream = uniqueKey('max-unacked-drain');
    await addEntries(admin, stream, numbered(0, 10));
    const drain = new AbortController();
    const reader = await startReader(options(stream, { maxUnacked: 4 }), undefined, undefined, true, drain.signal);
    expect(values(await readN(reader, 4))).toEqual([0, 1, 2, 3]);
    const waiting = reader.read(100);
    drain.abort();
    expect(await waiting).toEqual([]);
    // A drained task reads no more; one that did would get nothing either, rather than wait again.
    expect(await reader.read(100)).toEqual([]);
    expect(await pendingCount(admin, stream, 'g')).toBe(4);
  });

  it('warns once when it fills up in a job without checkpointing, and not in one whose first checkpoint is still to come', async () => {
    const stream = uniqueKey('no-checkpoint');
    await addEntries(admin, stream, numbered(0, 10));
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string, fields?: LogFields) => warnings.push(`${String(fields?.event)}: ${message}`) };
    // With checkpointing a full reader waits for the first checkpoint, as on any start with a backlog: no warning.
    const waiting = await startReader(options(stream, { maxUnacked: 3, group: 'checkpointed' }), undefined, logger);
    await readN(waiting, 3);
    const held = waiting.read(10);
    const reader = await startReader(options(stream, { maxUnacked: 3 }), undefined, logger, false);
    await readN(reader, 3);
    const stalled = reader.read(10);
    await eventually(() => warnings.length > 0, 'the warning');
    expect(warnings).toEqual([expect.stringMatching(/^source.waitingForCheckpoint: .*holds maxUnacked \(3\).*takes none.*enable checkpointing.*ack: 'on-read'/i)]);
    await waiting.notifyCheckpointComplete?.(1, waiting.position());
    await held;
    await reader.notifyCheckpointComplete?.(1, reader.position());
    await stalled;
    await readN(reader, 3);
    // Full again, but a checkpoint completed before: no second warning.
    const again = reader.read(10);
    await admin.ping();
    await reader.notifyCheckpointComplete?.(2, reader.position());
    await again;
    expect(warnings).toHaveLength(1);
  });

  it("tells the job's log when its connection to Redis fails, and when it is back", async () => {
    const server = await startRedisServer();
    const lines: string[] = [];
    const logger = {
      ...silentLogger,
      info: (message: string, fields?: LogFields) => lines.push(`info ${String(fields?.event)}: ${message}`),
      warn: (message: string, fields?: LogFields) => lines.push(`warn ${String(fields?.event)}: ${message}`),
    };
    let restarted: RunningRedis | undefined;
    try {
      const reader = await startReader(options(uniqueKey('down'), { redis: server.url }), undefined, logger);
      expect(lines).toEqual([]);
      await server.stop();
      await eventually(() => lines.length > 0, 'the failure reported');
      // Rate limited: both of the reader's connections fail, one line says so.
      expect(lines).toEqual([expect.stringMatching(/^warn redis.connectionFailed: Redis connection 'tributary:g:c:(read|ack)' failed: .*ECONNREFUSED.*; reconnecting\)$/)]);
      restarted = await startRedisServer(server.port);
      await eventually(() => lines.some((line) => line.startsWith('info ')), 'the return reported');
      expect(lines.filter((line) => line.startsWith('info '))[0]).toMatch(/^info redis.connected: Redis connection 'tributary:g:c:(read|ack)' is back$/);
      await reader.close?.();
    } finally {
      await restarted?.stop();
    }
  });

  it('closes at once while Redis is down with acks in flight, and leaves no connection retrying', async () => {
    const server = await startRedisServer();
    const stream = uniqueKey('close-down');
    const own = new Redis(server.url);
    await addEntries(own, stream, numbered(0, 5));
    own.disconnect();
    {
      const reader = await startReader(options(stream, { redis: server.url }));
      await readN(reader, 5);
      await server.stop();
      const { reads, control } = reader as unknown as { reads: Redis; control: Redis };
      await eventually(() => reads.status === 'reconnecting' && control.status === 'reconnecting', 'the clients to notice');
      // The acks wait in ioredis' offline queue for a server that is gone: close() used to wait for their replies.
      const acks = reader.notifyCheckpointComplete?.(1, reader.position());
      await reader.close?.();
      // They settle now, with the connection's end: the entries stay pending, to be read again.
      await acks?.catch(() => undefined);
      // Its two connections (reads, acks) have ended: none retries under the ended job's name.
      expect([reads.status, control.status]).toEqual(['end', 'end']);
    }
  });

  it('keeps its bookkeeping across a reconnect: entries it never saw are found, none comes out twice', async () => {
    const stream = uniqueKey('reconnect');
    const reader = await startReader(options(stream, { consumer: 'victim' }));
    const before = await addEntries(admin, stream, numbered(0, 5));
    expect((await readN(reader, 5)).map((r) => r.id)).toEqual(before);

    // Entries delivered to this consumer whose reply the reader never got (as when a connection drops mid-read).
    const lost = await addEntries(admin, stream, numbered(5, 2));
    await admin.call('XREADGROUP', 'GROUP', 'g', 'victim', 'COUNT', 2, 'STREAMS', stream, '>');
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const victims = list
      .split('\n')
      .filter((line) => line.includes('name=tributary:g:victim:'))
      .map((line) => /id=(\d+)/.exec(line)?.[1]);
    expect(victims).toHaveLength(2);
    for (const id of victims) await admin.call('CLIENT', 'KILL', 'ID', id!);

    const after = await addEntries(admin, stream, numbered(7, 3));
    const rest = await readN(reader, 5);
    expect(new Set(rest.map((r) => r.id))).toEqual(new Set([...lost, ...after]));
    expect(rest.filter((r) => lost.includes(r.id)).every((r) => r.delivery === 'pending')).toBe(true);
    expect(await read(reader)).toEqual([]);

    await reader.notifyCheckpointComplete?.(1, reader.position());
    expect(await pendingCount(admin, stream, 'g')).toBe(0);
  });

  it('gives up a blocked read as soon as the job is cancelled', async () => {
    const stream = uniqueKey('cancel');
    const abort = new AbortController();
    const reader = await startReader(options(stream, { createGroup: '$', blockMs: 600_000 }), abort.signal);
    const pending = reader.read(10);
    await admin.ping();
    abort.abort();
    expect(await pending).toEqual([]);
  });

  it('explains a missing consumer group, and one deleted after the job created it', async () => {
    const stream = uniqueKey('nogroup');
    const reader = await startReader(options(stream, { createGroup: undefined as never, group: 'missing' }));
    await expect(reader.read(10)).rejects.toThrow(/consumer group 'missing' does not exist on stream .*createGroup/);
    const created = await startReader(options(stream, { group: 'dropped' }));
    await admin.call('XGROUP', 'DESTROY', stream, 'dropped');
    await expect(created.read(10)).rejects.toThrow(
      `consumer group 'dropped' does not exist on stream '${stream}': it was created when the job started, so the group or the stream was deleted since`,
    );
  });

  it.each<[string, (url: URL) => RedisOptions]>([
    ['RESP2', (url) => ({ host: url.hostname, port: Number(url.port), protocol: 2 })],
    ['RESP3 with plain-object maps', (url) => ({ host: url.hostname, port: Number(url.port), protocol: 3, replyMapping: 'resp3' })],
  ])('passes connection options through (%s)', async (_name, connection) => {
    const stream = uniqueKey('protocol');
    const ids = await addEntries(admin, stream, numbered(0, 3));
    await leavePending(stream, 2, { redis: connection(new URL(redisUrl())) });
    await idleAtLeast(admin, stream, 'g', 2, 1);
    const reader = await startReader(options(stream, { redis: connection(new URL(redisUrl())), reclaim: { minIdleMs: 1 } }));
    const records = await readN(reader, 3);
    expect(records.map((r) => [r.id, r.delivery])).toEqual([
      [ids[0], 'claimed'],
      [ids[1], 'claimed'],
      [ids[2], 'new'],
    ]);
  });

  it.each<[Partial<RedisStreamSourceOptions<number>>, RegExp]>([
    [{ stream: '' }, /option 'stream' must be a non-empty string/],
    [{ count: 0 }, /option 'count' must be an integer >= 1, got 0/],
    [{ blockMs: 0 }, /option 'blockMs' must be a finite whole number of milliseconds > 0/],
    [{ maxUnacked: 1.5 }, /option 'maxUnacked'/],
    [{ reclaim: { minIdleMs: -1 } }, /option 'reclaim.minIdleMs'/],
    [{ ack: 'never' as never }, /option 'ack' must be 'on-checkpoint' or 'on-read'/],
    [{ createGroup: 'first' as never }, /option 'createGroup' must be '0' or '\$'/],
    [{ decode: undefined as never }, /option 'decode' must be a function/],
  ])('rejects bad options when the job is built: %o', (bad, message) => {
    const build = (): unknown => new RedisStreamSource(options('s', bad));
    expect(build).toThrow(message);
    expect(build).toThrow(InvalidJobError);
  });

  it('declares itself replayable (a new reader re-reads the unacked entries), so jobs with it may restart', () => {
    expect(new RedisStreamSource(options('s')).replayable).toBe(true);
  });

  it('reads as <consumer>-<subtask> when the source runs in parallel', async () => {
    const stream = uniqueKey('parallel');
    await addEntries(admin, stream, numbered(0, 4));
    const source = new RedisStreamSource(options(stream, { consumer: 'w' }));
    const readers = [0, 1].map((subtaskIndex) => source.createReader({ ...readerContext(), subtaskIndex, parallelism: 2 }));
    open.push(...readers);
    for (const r of readers) await r.start?.(undefined);
    await readers[0]!.read(3);
    await readers[1]!.read(3);
    expect(await pendingByConsumer(admin, stream, 'g')).toEqual(new Map([
      ['w-0', 3],
      ['w-1', 1],
    ]));
    expect(readers[1]!.position().consumer).toBe('w-1');
  });
});
