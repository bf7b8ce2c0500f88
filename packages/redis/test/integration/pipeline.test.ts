/**
 * Whole jobs against the real server: Redis stream -> unorderedWaitBatch on
 * a simulated service -> Redis stream, with checkpoints.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncDataStream } from '@tributary/async';
import { FileCheckpointStorage, StreamExecutionEnvironment, SystemClock, type CheckpointStorage } from '@tributary/core';
import { FakeBatchService } from '@tributary/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DECODE_FAILURES,
  RedisStreamSink,
  RedisStreamSource,
  splitDecodeFailures,
  type AckMode,
  type RedisDecodeFailure,
  type RedisStreamEntry,
} from '../../src/index.js';
import { addEntries, adminClient, eventually, pendingCount, readAll, redisUrl, uniqueKey } from '../support/redis.js';

interface Scored {
  readonly sourceId: string;
  readonly n: number;
  readonly score: number;
}

let admin: Redis;
beforeAll(() => {
  admin = adminClient();
});
afterAll(() => admin.disconnect());

const checkpointDir = () => mkdtempSync(join(tmpdir(), 'redis-job-'));

/** Builds input -> split -> unorderedWaitBatch(service) -> output, returns the env and the decode failures it collects. */
function buildJob(options: { input: string; output: string; parallelism: number; ack?: AckMode; storage?: CheckpointStorage | string }) {
  const clock = new SystemClock();
  const service = new FakeBatchService<RedisStreamEntry<number>, Scored>({
    clock,
    handler: (batch) => batch.map((e) => ({ sourceId: e.id, n: e.value, score: e.value * 2 })),
    latency: { baseMs: 2, perItemMs: 0.005 },
    concurrency: 4,
  });
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: options.parallelism });
  if (options.storage !== undefined) env.enableCheckpointing(100, { storage: options.storage });
  const entries = splitDecodeFailures(
    env
      .fromSource(
        new RedisStreamSource<number>({
          redis: redisUrl(),
          stream: options.input,
          group: 'scorers',
          consumer: 'job',
          createGroup: '0',
          blockMs: 50,
          ...(options.ack === undefined ? {} : { ack: options.ack }),
          decode: (fields) => {
            const n = Number(fields.n);
            if (!Number.isSafeInteger(n)) throw new Error(`field n is not an integer: ${JSON.stringify(fields.n)}`);
            return n;
          },
        }),
        'input',
      )
      .uid('input'),
  );
  const failures: RedisDecodeFailure[] = [];
  entries.getSideOutput(DECODE_FAILURES).addSink((f) => {
    failures.push(f);
  });
  AsyncDataStream.unorderedWaitBatch(entries, (batch, ctx) => service.call(batch, { signal: ctx.signal }), {
    maxBatchSize: 64,
    maxBatchDelay: 5,
    maxInFlightBatches: 4,
    capacity: 512,
  })
    .uid('score')
    .sinkTo(
      new RedisStreamSink<Scored>({
        redis: redisUrl(),
        stream: options.output,
        encode: (s) => ({ n: s.n, score: s.score }),
        idempotencyKey: (s) => s.sourceId,
      }),
    )
    .uid('output');
  return { env, failures };
}

describe('Redis stream jobs', () => {
  it('moves 50,000 entries through unorderedWaitBatch into the sink: the output holds every input', async () => {
    const input = uniqueKey('in');
    const output = uniqueKey('out');
    const total = 50_000;
    const ids = await addEntries(admin, input, Array.from({ length: total }, (_, n) => ({ n: String(n) })));
    const { env } = buildJob({ input, output, parallelism: 2, storage: checkpointDir() });

    const started = performance.now();
    const job = env.executeAsync('redis 50k');
    await eventually(async () => (await admin.xlen(output)) >= total, 'every entry written', 60_000);
    const elapsedMs = performance.now() - started;
    await eventually(async () => (await pendingCount(admin, input, 'scorers')) === 0, 'every input entry acked', 30_000);
    job.cancel();
    expect((await job.result).status).toBe('cancelled');

    const written = await readAll(admin, output);
    const byKey = new Map(written.map((e) => [e.fields?.['idempotency-key'], e.fields]));
    expect(byKey.size).toBe(total);
    for (const [n, id] of ids.entries()) expect(byKey.get(id)).toEqual({ n: String(n), score: String(2 * n), 'idempotency-key': id });
    console.log(
      `redis pipeline: ${total} entries in ${elapsedMs.toFixed(0)} ms (${Math.round(total / (elapsedMs / 1000))} entries/s), ` +
        `${written.length - byKey.size} duplicates`,
    );
  });

  it('drained (to scale down), a worker finishes the calls it has in flight and acks what it wrote: another takes the rest, nothing lost', async () => {
    const input = uniqueKey('in');
    const output = uniqueKey('out');
    const total = 20_000;
    const ids = await addEntries(admin, input, Array.from({ length: total }, (_, n) => ({ n: String(n) })));
    const leaving = buildJob({ input, output, parallelism: 1, storage: checkpointDir() }).env.executeAsync('leaving');
    await eventually(async () => (await admin.xlen(output)) >= 2_000, 'the first outputs', 60_000);
    leaving.drain();
    const drained = await leaving.result;
    expect(drained.status).toBe('finished');
    const read = drained.operators.find((o) => o.name === 'input')?.recordsOut ?? 0;
    expect(read).toBeLessThan(total);
    // Every entry it read is written and acked: a cancel would have left its calls in flight only in its checkpoint.
    expect(new Set((await readAll(admin, output)).map((e) => e.fields?.['idempotency-key'])).size).toBe(read);
    expect(await pendingCount(admin, input, 'scorers')).toBe(0);

    const staying = buildJob({ input, output, parallelism: 1, storage: checkpointDir() }).env.executeAsync('staying');
    await eventually(async () => new Set((await readAll(admin, output)).map((e) => e.fields?.['idempotency-key'])).size === total, 'every entry written', 60_000);
    staying.cancel();
    await staying.result;
    const keys = new Set((await readAll(admin, output)).map((e) => e.fields?.['idempotency-key']));
    expect(ids.every((id) => keys.has(id))).toBe(true);
  });

  it('sends entries that fail to decode to the side output with their ids; the rest reach the sink', async () => {
    const input = uniqueKey('in');
    const output = uniqueKey('out');
    const rows = Array.from({ length: 1_000 }, (_, n) => ({ n: n % 100 === 7 ? `#${n}` : String(n) }));
    const ids = await addEntries(admin, input, rows);
    const { env, failures } = buildJob({ input, output, parallelism: 1, storage: checkpointDir() });

    const job = env.executeAsync('redis decode failures');
    await eventually(async () => failures.length === 10 && (await admin.xlen(output)) === 990, 'the failures and the good entries');
    await eventually(async () => (await pendingCount(admin, input, 'scorers')) === 0, 'every entry acked, failures too');
    job.cancel();
    await job.result;

    const bad = rows.flatMap((r, i) => (r.n.startsWith('#') ? [ids[i]] : []));
    expect(failures.map((f) => f.id).sort()).toEqual(bad.sort());
    for (const f of failures) {
      expect(f).toMatchObject({ kind: 'decode-failure', stream: input, delivery: 'new' });
      expect(f.error).toBe(`field n is not an integer: ${JSON.stringify(f.fields?.n)}`);
    }
    const keys = new Set((await readAll(admin, output)).map((e) => e.fields?.['idempotency-key']));
    expect(keys).toEqual(new Set(ids.filter((id) => !bad.includes(id))));
  });

  it('acks only after the checkpoint completes: everything processed stays pending until it is stored', async () => {
    const input = uniqueKey('in');
    const output = uniqueKey('out');
    await addEntries(admin, input, Array.from({ length: 2_000 }, (_, n) => ({ n: String(n) })));
    const files = new FileCheckpointStorage(checkpointDir());
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const storing: number[] = [];
    const gated: CheckpointStorage = {
      store: async (checkpoint) => {
        storing.push(checkpoint.checkpointId);
        await gate;
        return files.store(checkpoint);
      },
      highestCheckpointId: () => files.highestCheckpointId(),
      loadLatest: () => files.loadLatest(),
      load: (location) => files.load(location),
    };
    const { env } = buildJob({ input, output, parallelism: 1, storage: gated });

    const job = env.executeAsync('redis acks');
    await eventually(async () => (await admin.xlen(output)) === 2_000 && storing.length > 0, 'all written, a checkpoint being stored');
    // Every entry is processed and written, but no checkpoint is complete: nothing is acked.
    expect(await pendingCount(admin, input, 'scorers')).toBe(2_000);
    openGate();
    await eventually(async () => (await pendingCount(admin, input, 'scorers')) === 0, 'acked once checkpoints complete');
    job.cancel();
    await job.result;
  });

  it("without checkpointing, ack 'on-read' acks as it goes (at most once): all but the batch in hand is acked", async () => {
    const input = uniqueKey('in');
    const output = uniqueKey('out');
    await addEntries(admin, input, Array.from({ length: 3_000 }, (_, n) => ({ n: String(n) })));
    const { env } = buildJob({ input, output, parallelism: 1, ack: 'on-read' });

    const job = env.executeAsync('redis on-read');
    await eventually(async () => (await admin.xlen(output)) === 3_000, 'all written');
    // The reader keeps asking for more; that acks the last batch it handed out.
    await eventually(async () => (await pendingCount(admin, input, 'scorers')) === 0, 'everything handed over is acked');
    job.cancel();
    await job.result;
  });
});
