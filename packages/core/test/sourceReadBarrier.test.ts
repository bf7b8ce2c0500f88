import { describe, expect, it } from 'vitest';
import { ManualClock, StreamExecutionEnvironment, type CheckpointStorage, type Source } from '../src/index.js';
import { gatedSource, until } from './support/gatedSource.js';

/** Checkpoint storage in memory: the source position of each stored checkpoint, by id. */
function positionsStore(source: string): { storage: CheckpointStorage; stored: Map<number, unknown> } {
  const stored = new Map<number, unknown>();
  const storage: CheckpointStorage = {
    store: (checkpoint) => {
      stored.set(checkpoint.checkpointId, checkpoint.sources[source]?.positions[0]);
      return Promise.resolve({ location: `memory:${checkpoint.checkpointId}`, bytes: 0 });
    },
    highestCheckpointId: () => Promise.resolve(0),
    loadLatest: () => Promise.resolve(undefined),
    load: (location) => Promise.reject(new Error(`no checkpoint at ${location}`)),
  };
  return { storage, stored };
}

describe('a source task with asynchronous reads under backpressure', () => {
  it("takes each checkpoint's source position where its barrier is: the position the sink had seen at that barrier", async () => {
    // A read settles in a microtask and then moves the position (as a file or broker reader does);
    // the sink is slow and its channel holds one chunk, so the task flushes into a full channel
    // before each read and checkpoints are requested while it waits. A barrier that covered a read
    // settled during such a wait would go out before that read's records: on restore they would be lost.
    const records = 300;
    const clock = new ManualClock(0);
    const { storage, stored } = positionsStore('numbers');
    let next = 0;
    const source: Source<number, number> = {
      createReader: () => ({
        start: (position) => {
          next = position ?? 0;
        },
        read: () =>
          Promise.resolve().then(() => {
            if (next >= records) return null;
            const out: number[] = [];
            for (let i = 0; i < 3 && next < records; i++) out.push(next++);
            return out;
          }),
        position: () => next,
      }),
    };
    let seen = 0;
    const seenAtBarrier = new Map<number, number>();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, chunkSize: 4, channelCapacity: 1 });
    env.enableCheckpointing(10, { storage });
    env
      .fromSource(source, 'numbers')
      .uid('numbers')
      .rebalance()
      .sinkTo({
        createWriter: () => ({
          write: () => {
            // Every 5th record asks for a checkpoint while the source waits on this sink.
            if (++seen % 5 === 0) void clock.advance(10);
            return new Promise<void>((resolve) => setImmediate(resolve));
          },
          snapshotState: (checkpointId) => {
            seenAtBarrier.set(checkpointId, seen);
            return seen;
          },
        }),
      })
      .name('slow sink');
    await env.execute('reads and barriers');

    expect(seen).toBe(records);
    // Checkpoints taken after the sink finished hold no snapshot of it.
    const checkpoints = [...stored.keys()].filter((id) => seenAtBarrier.has(id));
    expect(checkpoints.length).toBeGreaterThan(10);
    for (const id of checkpoints) expect({ id, position: stored.get(id) }).toEqual({ id, position: seenAtBarrier.get(id) });
  });

  it('takes the position before waiting for room downstream: a read that settles during that wait comes after the barrier', async () => {
    // An operator chained to the source emits from mails while the source's read waits (as the async
    // operator does when calls complete); those records fill the channel to a blocked sink. A checkpoint
    // requested then waits for that room, and the read settles during the wait: its record must not be
    // covered by the checkpoint's position, as it reaches the sink after the barrier.
    const clock = new ManualClock(0);
    const { storage, stored } = positionsStore('numbers');
    // Seven records: the job waits for the last one until checkpoint 1 is stored (at its end, the final checkpoint would take over).
    const gate = gatedSource(7);
    const readChunks: number[][] = [];
    const numbers: Source<number, number> = {
      createReader: (context) => {
        const reader = gate.source.createReader(context);
        return {
          ...reader,
          read: async (max) => {
            const chunk = await reader.read(max);
            if (chunk !== null) readChunks.push([...chunk]);
            return chunk;
          },
        };
      },
    };
    const held: number[] = [];
    let release: (() => void) | undefined;
    const writes: (() => void)[] = [];
    const sinkSeen: number[] = [];
    const seenAtBarrier = new Map<number, readonly number[]>();
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, chunkSize: 1, channelCapacity: 1 });
    env.enableCheckpointing(10, { storage });
    env
      .fromSource(numbers, 'numbers')
      .uid('numbers')
      .transform<number>('Holder', (ctx) => {
        release = () => {
          for (const n of held.splice(0)) ctx.task.execute(() => ctx.output.collect(n), ctx.description);
        };
        return {
          processElement: (n: number) => void held.push(n),
          endInput: () => {
            for (const n of held.splice(0)) ctx.output.collect(n);
          },
        };
      })
      .rebalance()
      .sinkTo({
        createWriter: () => ({
          write: (n: number) => {
            sinkSeen.push(n);
            return new Promise<void>((resolve) => writes.push(resolve));
          },
          snapshotState: (checkpointId) => {
            seenAtBarrier.set(checkpointId, [...sinkSeen]);
            return sinkSeen.length;
          },
        }),
      })
      .name('blocked sink');
    const job = env.executeAsync('read settles while the barrier waits');
    gate.openUntil(5);
    await until(() => held.length === 5, 'the first five records held');
    // The source now waits in a read for record 5; the held records go out from mails and fill the channel.
    release!();
    await until(() => writes.length === 1, 'the sink blocked on its first write');
    await clock.advance(10);
    // The barrier waits for room; meanwhile the read settles with record 5.
    gate.openUntil(6);
    await until(() => readChunks.some((chunk) => chunk.includes(5)), 'record 5 read');
    while (!seenAtBarrier.has(1)) {
      writes.splice(0).forEach((resolve) => resolve());
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seenAtBarrier.get(1)).toEqual([0, 1, 2, 3, 4]);
    // The sink acknowledges once its writes before the barrier are done: from here on every write completes.
    const drain = setInterval(() => writes.splice(0).forEach((resolve) => resolve()), 1);
    try {
      await until(() => stored.has(1), 'checkpoint 1 stored');
      expect(stored.get(1)).toBe(5);
      gate.openUntil(7);
      await job.result;
    } finally {
      clearInterval(drain);
    }
    expect(sinkSeen).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
