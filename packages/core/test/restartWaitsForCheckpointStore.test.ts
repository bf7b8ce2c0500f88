import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  RestartStrategies,
  StreamExecutionEnvironment,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type StoredCheckpoint,
} from '../src/index.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

/** Keeps checkpoints in memory; the first store waits until the test releases it. */
function heldStorage() {
  const stored: StoredCheckpoint[] = [];
  let release: (() => void) | undefined;
  let stores = 0;
  const storage: CheckpointStorage = {
    store: async (checkpoint: CompletedCheckpoint) => {
      if (stores++ === 0) await new Promise<void>((resolve) => (release = resolve));
      const location = `mem:${checkpoint.checkpointId}`;
      stored.push({ location, checkpoint });
      return { location, bytes: 1 };
    },
    highestCheckpointId: () => Promise.resolve(stored.at(-1)?.checkpoint.checkpointId ?? 0),
    loadLatest: () => Promise.resolve(stored.at(-1)),
    load: (location) => Promise.resolve(stored.find((s) => s.location === location) as StoredCheckpoint),
  };
  return { storage, stored, release: () => release?.(), storing: () => release !== undefined };
}

describe('a restart after a failure during a checkpoint store', () => {
  it('waits for the store and restarts from that checkpoint, which a later restore would use too', async () => {
    const clock = new ManualClock(0);
    const { storage, stored, release, storing } = heldStorage();
    const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    env.enableCheckpointing(10, { storage });
    const gate = gatedSource(200);
    let failNow = false;
    let failures = 0;
    let mapped = 0;
    let firstAfterRestart: number | undefined;
    env
      .fromSource(gate.source, 'numbers')
      .map((n) => {
        if (failNow) {
          failNow = false;
          failures++;
          throw new Error('boom');
        }
        if (failures > 0) firstAfterRestart ??= n;
        mapped++;
        return n;
      })
      .addSink(() => undefined);
    const job = env.executeAsync('store in flight');
    gate.openUntil(100);
    await until(() => mapped === 100, '100 records');
    await clock.advance(10);
    await until(storing, 'checkpoint 1 being stored');
    failNow = true;
    gate.openUntil(101);
    await until(() => failures === 1, 'the failure');
    // The store lands after the job failed.
    release();
    gate.openUntil(200);
    await driveUntilDone(job.result, clock);
    const result = await job.result;
    expect(stored.map((s) => s.checkpoint.checkpointId)).toContain(1);
    expect(result.restarts).toBe(1);
    expect(firstAfterRestart).toBe(100);
  });
});
