/**
 * The job the crash test kills: a file of events -> parse -> per-user running
 * total in keyed state -> unorderedWaitBatch on a simulated service ->
 * file sink (exactly-once or at-least-once). It checkpoints every 50 ms and
 * prints `checkpoint N` each time one is stored so the test knows the run
 * made progress. A job module (every slot imports it): `crashJob.ts` runs it.
 */
import { join } from 'node:path';
import { AsyncDataStream } from '@tributary/async';
import {
  defineJob,
  FileCheckpointStorage,
  FileSink,
  FileSource,
  StreamExecutionEnvironment,
  SystemClock,
  ValueStateDescriptor,
  type CheckpointStorage,
  type MapFunction,
  type Runtime,
  type RuntimeContext,
  type ValueState,
} from '@tributary/core';
import { FakeBatchService } from '@tributary/testing';
import { scoreOf, type Enriched, type Event } from './model.js';

class RunningTotal implements MapFunction<Event, Omit<Enriched, 'score'>> {
  private total!: ValueState<number>;
  open(ctx: RuntimeContext) {
    this.total = ctx.getState(new ValueStateDescriptor('total', 0));
  }
  map(e: Event) {
    const total = this.total.value()! + e.amount;
    this.total.update(total);
    return { id: e.id, user: e.user, total };
  }
}

/** Reports each stored checkpoint on stdout (the coordinator stores them, on the main thread); the job still locks the directory. */
function announcing(storage: FileCheckpointStorage): CheckpointStorage {
  return {
    exclusiveDirectory: () => storage.exclusiveDirectory(),
    store: async (checkpoint) => {
      const stored = await storage.store(checkpoint);
      process.stdout.write(`checkpoint ${checkpoint.checkpointId}${checkpoint.final ? ' final' : ''}\n`);
      return stored;
    },
    highestCheckpointId: () => storage.highestCheckpointId(),
    loadLatest: () => storage.loadLatest(),
    load: (location) => storage.load(location),
  };
}

/** The sink the crash job writes through: a guarantee, or exactly-once with part files that span 4 checkpoints. */
export type CrashSink = 'exactly-once' | 'exactly-once-rolling' | 'at-least-once';

export const crashJob = defineJob({
  module: import.meta.url,
  build: ({ workDir, guarantee, runtime }: { workDir: string; guarantee: CrashSink; runtime: Runtime }) => {
    const clock = new SystemClock();
    const service = new FakeBatchService<Omit<Enriched, 'score'>, Enriched>({
      clock,
      handler: (inputs) => inputs.map((r) => ({ ...r, score: scoreOf(r.id, r.total) })),
      latency: { baseMs: 12, perItemMs: 0.02 },
      concurrency: 4,
    });

    // Small chunks and channels keep barriers close behind the records (checkpoints stay quick).
    const env = StreamExecutionEnvironment.create({ clock, parallelism: 2, chunkSize: 32, channelCapacity: 2, runtime });
    env.enableCheckpointing(50, { storage: announcing(new FileCheckpointStorage(join(workDir, 'checkpoints'))) });
    const totals = env
      .fromSource(new FileSource(join(workDir, 'events.jsonl')), 'events')
      .uid('events')
      .map((line) => JSON.parse(line) as Event)
      .uid('parse')
      // Parsed beside the source: each user's events reach the running total in file order.
      .setParallelism(1)
      .keyBy((e) => e.user)
      .map(new RunningTotal())
      .uid('running-total');
    AsyncDataStream.unorderedWaitBatch(totals, (batch, ctx) => service.call(batch, { signal: ctx.signal }), {
      maxBatchSize: 32,
      maxBatchDelay: 5,
      maxInFlightBatches: 4,
      capacity: 128,
    })
      .uid('score')
      .sinkTo(FileSink.jsonLines<Enriched>(join(workDir, 'out'), guarantee === 'exactly-once-rolling' ? { rolling: { checkpointsPerPart: 4 } } : { guarantee }))
      .uid('out');
    return env;
  },
});
