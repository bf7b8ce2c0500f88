import { AsyncDataStream } from '@tributary/async';
import { defineJob, StreamExecutionEnvironment } from '@tributary/core';
import { RedisStreamSink, RedisStreamSource, splitDecodeFailures, DECODE_FAILURES, type RedisStreamEntry } from '@tributary/redis';
import { FakeBatchService } from '@tributary/testing';
import type { Settings } from './settings.js';

/** A task the feeder writes: some text to "score". */
export interface Task {
  readonly n: number;
  readonly text: string;
}

/** What a worker writes for each task. */
export interface Result {
  /** The task's entry id in the input stream: the idempotency key. */
  readonly taskId: string;
  readonly n: number;
  readonly words: number;
  readonly worker: string;
}

/** The task text for number `n`: a few words, deterministic. */
export function taskText(n: number): string {
  return Array.from({ length: 3 + (n % 5) }, (_, i) => `w${(n * 7 + i) % 97}`).join(' ');
}

/** What the feeder job is built from (plain data: a job module's args). */
export interface FeedArgs {
  readonly settings: Settings;
  readonly count: number;
  readonly from: number;
}

/**
 * The feeder as a job module: tasks from..from+count-1 (collection ->
 * RedisStreamSink). At parallelism 1 it runs on the calling thread.
 */
export const feedJob = defineJob({
  module: import.meta.url,
  build: ({ settings, count, from }: FeedArgs) => {
    const env = StreamExecutionEnvironment.create();
    env
      .fromCollection(Array.from({ length: count }, (_, i) => from + i))
      .sinkTo(
        new RedisStreamSink<number>({
          redis: settings.redis,
          stream: settings.input,
          encode: (n) => ({ n, text: taskText(n) }),
          idempotencyKey: (n) => `task-${n}`,
        }),
      );
    return env;
  },
});

/** Writes tasks from..from+count-1 to the input stream with {@link feedJob}. */
export async function feed(settings: Settings, count: number, from = 0): Promise<void> {
  await feedJob.execute({ settings, count, from }, { jobName: 'feed' });
}

/** What one worker's job is built from (plain data: a job module's args). */
export interface WorkerArgs {
  readonly settings: Settings;
  /** This worker's consumer name: stable across restarts, unique among the running workers. */
  readonly name: string;
  /** Where its checkpoints go (one directory per worker). */
  readonly checkpoints: string;
  /**
   * Task slots (worker threads) of this process, each reading the group as
   * consumer `<name>-<slot>` and calling the model. Default 2.
   */
  readonly parallelism?: number;
}

/**
 * One worker's job, a job module: tasks from the consumer group -> a
 * (simulated) batch model via unorderedWaitBatch -> results, acked on
 * checkpoint. Every task slot imports this module and builds the same
 * graph. Start it in as many processes as you like with different names.
 */
export const workerJob = defineJob({
  module: import.meta.url,
  build: ({ settings, name, checkpoints, parallelism = 2 }: WorkerArgs) => {
    const env = StreamExecutionEnvironment.create({ parallelism });
    env.enableCheckpointing(500, { storage: checkpoints });
    // Stands in for a model server: 5 ms per call plus 0.05 ms per task, four calls at a time (per slot: each builds its own).
    const model = new FakeBatchService<RedisStreamEntry<Task>, Result>({
      clock: env.clock,
      handler: (batch) => batch.map((e) => ({ taskId: e.id, n: e.value.n, words: e.value.text.split(' ').length, worker: name })),
      latency: { baseMs: 5, perItemMs: 0.05 },
      concurrency: 4,
    });
    const tasks = splitDecodeFailures(
      env
        .fromSource(
          new RedisStreamSource<Task>({
            redis: settings.redis,
            stream: settings.input,
            group: settings.group,
            consumer: name,
            createGroup: '0',
            // Checkpoints every 500 ms; an entry idle for 10 s belongs to a dead worker.
            reclaim: { minIdleMs: 10_000, intervalMs: 2_000 },
            decode: (fields) => {
              const n = Number(fields.n);
              if (!Number.isInteger(n) || fields.text === undefined) throw new Error('a task needs an integer n and a text');
              return { n, text: fields.text };
            },
          }),
          'tasks',
        )
        .uid('tasks'),
    );
    tasks.getSideOutput(DECODE_FAILURES).print(`[${name}] bad task`);
    AsyncDataStream.unorderedWaitBatch(tasks, (batch, ctx) => model.call(batch, { signal: ctx.signal }), {
      maxBatchSize: 64,
      maxBatchDelay: 10,
      maxInFlightBatches: 4,
    })
      .uid('model')
      .sinkTo(
        new RedisStreamSink<Result>({
          redis: settings.redis,
          stream: settings.output,
          encode: (r) => ({ task: r.n, words: r.words, worker: r.worker }),
          idempotencyKey: (r) => r.taskId,
        }),
      )
      .uid('results');
    return env;
  },
});
