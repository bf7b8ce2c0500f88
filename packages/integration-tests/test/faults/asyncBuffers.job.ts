/**
 * The job of asyncBuffers.test.ts, a job module (every slot imports it):
 * numbers -> keyBy(n % 7) -> running count per key (keyed state) -> async
 * batch call -> exactly-once file sink. The call is held, in flight, until
 * the storage holds checkpoints taken after it started; the slots and the
 * test meet through files only.
 */
import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { AsyncDataStream, NonRetryableError, type BatchContext } from '@tributary/async';
import { defineJob, FileCheckpointStorage, FileSink, RestartStrategies, StreamExecutionEnvironment, type Source } from '@tributary/core';
import { CountPerKey } from '../../../core/test/support/countPerKey.js';

export const KEYS = 7;

export interface AsyncBuffersArgs {
  readonly parallelism: number;
  /** The source's records: 0..total-1. */
  readonly total: number;
  /** From `pauseAt` on the source waits (as a broker source does), until the file `resume` exists or for good. Checkpoints need it running. */
  readonly pauseAt?: number;
  readonly resume?: string;
  /**
   * A call with a record from `heldFrom` on is held: until two more
   * checkpoints are stored or the file `failOnce` exists; with `forever`,
   * until the job stops.
   */
  readonly heldFrom: number;
  readonly forever?: boolean;
  readonly storage: string;
  readonly out: string;
  /** Where held calls append their records (one JSON array per call). */
  readonly heldLog: string;
  /** Present: the first held call released anywhere fails (once: the file is created exclusively), writing its records and checkpoint there. */
  readonly failOnce?: string;
  readonly restarts: number;
}

/** The highest checkpoint id in `storage` (0 when it holds none). */
export function highestCheckpoint(storage: string): number {
  return Math.max(0, ...readdirSync(storage).map((name) => Number(/^chk-(\d+)\.ckpt$/.exec(name)?.[1] ?? 0)));
}

/** 0..total-1 from one reader, waiting at `pauseAt` until `resumed()`; its position is the next number. */
function numbers(total: number, pauseAt: number, resumed: () => boolean): Source<number, number> {
  return {
    createReader: () => {
      let next = 0;
      return {
        start: (position) => {
          next = position ?? 0;
        },
        read: (max) => {
          if (next >= pauseAt && !resumed()) return new Promise((resolve) => setTimeout(() => resolve([]), 1));
          if (next >= total) return null;
          const chunk: number[] = [];
          while (chunk.length < Math.min(max, 10) && next < total && (next < pauseAt || resumed())) chunk.push(next++);
          return chunk;
        },
        position: () => next,
      };
    },
  };
}

/** Settles when `ready()` holds (polled) or rejects when the call is abandoned. */
function heldUntil(ready: () => boolean, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (signal.aborted) reject(signal.reason as Error);
      else if (ready()) resolve();
      else setTimeout(poll, 1);
    };
    poll();
  });
}

/** True for the one caller, in any slot or attempt, that creates `marker`. */
function createdFirst(marker: string): boolean {
  try {
    writeFileSync(marker, '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

export const asyncBuffers = defineJob({
  module: import.meta.url,
  build: (args: AsyncBuffersArgs) => {
    const env = StreamExecutionEnvironment.create({ parallelism: args.parallelism, restartStrategy: RestartStrategies.fixedDelay(args.restarts, 0) });
    // Every checkpoint kept: the test reads the one a held call was in flight through.
    env.enableCheckpointing(5, { storage: new FileCheckpointStorage(args.storage, { retain: 100_000 }) });
    const enrich = async (batch: readonly [number, number][], ctx: BatchContext): Promise<readonly [number, number][]> => {
      if (batch.every(([n]) => n < args.heldFrom)) return batch;
      appendFileSync(args.heldLog, `${JSON.stringify(batch.map(([n]) => n))}\n`);
      // Two more checkpoints: the second was triggered after this call started, so it is in flight through all of it.
      const through = highestCheckpoint(args.storage) + 2;
      const failed = () => args.failOnce !== undefined && existsSync(args.failOnce);
      await heldUntil(() => args.forever !== true && (failed() || highestCheckpoint(args.storage) >= through), ctx.signal);
      if (args.failOnce !== undefined && createdFirst(args.failOnce)) {
        writeFileSync(args.failOnce, JSON.stringify({ through, batch: batch.map(([n]) => n) }));
        throw new NonRetryableError('failure mid-batch');
      }
      return batch;
    };
    const counted = env
      .fromSource(numbers(args.total, args.pauseAt ?? Number.POSITIVE_INFINITY, () => args.resume !== undefined && existsSync(args.resume)), 'numbers')
      .uid('numbers')
      .setParallelism(1)
      .keyBy((n) => n % KEYS)
      .map(new CountPerKey())
      .uid('count');
    // Below capacity, held records never backpressure the task: the checkpoint barrier passes them.
    AsyncDataStream.unorderedWaitBatch(counted, enrich, { maxBatchSize: 8, maxBatchDelay: 20, maxInFlightBatches: 8, capacity: 200 })
      .uid('enrich')
      .name('enrich')
      .sinkTo(FileSink.jsonLines<[number, number]>(args.out))
      .uid('out');
    return env;
  },
});
