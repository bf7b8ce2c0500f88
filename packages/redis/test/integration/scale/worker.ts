/**
 * One worker of the scale-out test: Redis stream (consumer group) ->
 * unorderedWaitBatch on a simulated service -> Redis stream. It checkpoints
 * every 100 ms to its own directory, restores from the latest checkpoint
 * when it has one, prints `checkpoint N` when one is stored, and stops on
 * SIGTERM.
 *
 * Usage: node --conditions=@tributary/source --import tsx worker.ts <redisUrl> <input> <output> <consumer> <checkpointDir> <label>
 */
import { AsyncDataStream } from '@tributary/async';
import { FileCheckpointStorage, StreamExecutionEnvironment, SystemClock, type CheckpointStorage } from '@tributary/core';
import { FakeBatchService } from '@tributary/testing';
import { RedisStreamSink, RedisStreamSource, splitDecodeFailures, type RedisStreamEntry } from '../../../src/index.js';
import { WORKER_CONFIG, type WorkerOutput } from './config.js';

const [url, input, output, consumer, checkpointDir, label] = process.argv.slice(2) as [string, string, string, string, string, string];

function announcing(storage: CheckpointStorage): CheckpointStorage {
  return {
    store: async (checkpoint) => {
      const stored = await storage.store(checkpoint);
      process.stdout.write(`checkpoint ${checkpoint.checkpointId}\n`);
      return stored;
    },
    highestCheckpointId: () => storage.highestCheckpointId(),
    loadLatest: () => storage.loadLatest(),
    load: (location) => storage.load(location),
  };
}

const clock = new SystemClock();
const service = new FakeBatchService<RedisStreamEntry<number>, WorkerOutput>({
  clock,
  handler: (batch) => batch.map((e) => ({ sourceId: e.id, n: e.value, worker: label, delivery: e.delivery })),
  latency: { baseMs: 2, perItemMs: 0.01 },
  concurrency: 4,
});
const env = StreamExecutionEnvironment.create({ clock, parallelism: 1 });
const storage = new FileCheckpointStorage(checkpointDir);
env.enableCheckpointing(WORKER_CONFIG.checkpointMs, { storage: announcing(storage) });
const entries = splitDecodeFailures(
  env
    .fromSource(
      new RedisStreamSource<number>({
        redis: url,
        stream: input,
        group: WORKER_CONFIG.group,
        consumer,
        createGroup: '0',
        blockMs: 100,
        maxUnacked: WORKER_CONFIG.maxUnacked,
        reclaim: { minIdleMs: WORKER_CONFIG.minIdleMs, intervalMs: WORKER_CONFIG.claimIntervalMs },
        decode: (fields) => Number(fields.n),
      }),
      'input',
    )
    .uid('input'),
);
AsyncDataStream.unorderedWaitBatch(entries, (batch, ctx) => service.call(batch, { signal: ctx.signal }), {
  maxBatchSize: 64,
  maxBatchDelay: 5,
  maxInFlightBatches: 4,
  capacity: WORKER_CONFIG.capacity,
})
  .uid('work')
  .sinkTo(
    new RedisStreamSink<WorkerOutput>({
      redis: url,
      stream: output,
      encode: (o) => ({ n: o.n, worker: o.worker, delivery: o.delivery }),
      idempotencyKey: (o) => o.sourceId,
    }),
  )
  .uid('output');

// For the test's report: the records the checkpoint holds in the async operator (acked with it, re-dispatched on restore).
const latest = await storage.loadLatest();
// The operator stores them as list state 'records', runs of records (see AsyncBatchWaitOperator.initializeListState).
const runs = (latest?.checkpoint.operators.work?.subtasks[0]?.listState?.records ?? []) as unknown[][];
process.stdout.write(`restoring ${runs.flat().length} in-flight records\n`);

const job = env.executeAsync(`worker ${label}`, { restoreFrom: 'latest' });
process.on('SIGTERM', () => job.cancel());
process.stdout.write('started\n');
const result = await job.result;
process.stdout.write(`done ${result.status}\n`);
