import { describe, expect, it } from 'vitest';
import { ManualClock, StreamExecutionEnvironment, type CheckpointStorage, type Source } from '../src/index.js';

describe('a source task with asynchronous reads under backpressure', () => {
  it("takes each checkpoint's source position where its barrier is: the position the sink had seen at that barrier", async () => {
    // A read settles in a microtask and then moves the position (as a file or broker reader does);
    // the sink is slow and its channel holds one chunk, so the task flushes into a full channel
    // before each read and checkpoints are requested while it waits. A barrier that covered a read
    // settled during such a wait would go out before that read's records: on restore they would be lost.
    const records = 300;
    const clock = new ManualClock(0);
    const stored = new Map<number, unknown>();
    const storage: CheckpointStorage = {
      store: (checkpoint) => {
        stored.set(checkpoint.checkpointId, checkpoint.sources['numbers']?.positions[0]);
        return Promise.resolve({ location: `memory:${checkpoint.checkpointId}`, bytes: 0 });
      },
      highestCheckpointId: () => Promise.resolve(0),
      loadLatest: () => Promise.resolve(undefined),
      load: (location) => Promise.reject(new Error(`no checkpoint at ${location}`)),
    };
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
});
