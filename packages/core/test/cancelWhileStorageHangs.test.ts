import { describe, expect, it } from 'vitest';
import {
  drain,
  ManualClock,
  silentLogger,
  StreamExecutionEnvironment,
  type CheckpointStorage,
  type JobClient,
  type JobEvent,
  type StoredCheckpoint,
} from '../src/index.js';
import { gatedSource, until } from './support/gatedSource.js';

const never = () => new Promise<never>(() => undefined);

/** A storage in memory whose calls answer at once, but for those `hang` replaces (a hung network file system). */
function storage(hang: Partial<CheckpointStorage> = {}) {
  const stored: StoredCheckpoint[] = [];
  const answering: CheckpointStorage = {
    store: (checkpoint) => {
      const location = `mem:${checkpoint.checkpointId}`;
      stored.push({ location, checkpoint });
      return Promise.resolve({ location, bytes: 1 });
    },
    highestCheckpointId: () => Promise.resolve(0),
    loadLatest: () => Promise.resolve(undefined),
    load: (location) => Promise.reject(new Error(`no checkpoint at ${location}`)),
  };
  return { storage: { ...answering, ...hang }, stored };
}

function watched(job: JobClient): JobEvent[] {
  const events: JobEvent[] = [];
  job.onEvent((event) => events.push(event));
  return events;
}

const abandoned = (events: JobEvent[]) => events.filter((e) => e.fields.event === 'checkpoint.abandoned').map((e) => e.message);

async function statusAfterSettling(job: JobClient): Promise<string> {
  await drain();
  return job.status;
}

describe('cancel() while a checkpoint storage call never settles', () => {
  it('ends the job closeTimeoutMs after a store() that never settles, and says what it abandoned', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, closeTimeoutMs: 1_000, logger: silentLogger });
    let stores = 0;
    const hung = storage({
      store: () => {
        stores++;
        return never();
      },
    });
    env.enableCheckpointing(10, { storage: hung.storage });
    const gate = gatedSource(1_000_000);
    const seen: number[] = [];
    env.fromSource(gate.source, 'numbers').addSink((n) => void seen.push(n));
    const job = env.executeAsync('store never');
    const events = watched(job);
    gate.openUntil(10);
    await until(() => seen.length === 10, '10 records');
    await clock.advance(10);
    await until(() => stores === 1, 'checkpoint 1 to be stored');

    job.cancel();
    await until(() => job.tasks().every((t) => t.ended), 'the tasks to end');
    // A store in flight gets closeTimeoutMs to land, as a close does.
    await clock.advance(999);
    expect(await statusAfterSettling(job)).toBe('running');
    await clock.advance(1);
    expect(await statusAfterSettling(job)).toBe('cancelled');
    expect((await job.result).status).toBe('cancelled');
    expect(abandoned(events)).toEqual(['store() of checkpoint 1 of the checkpoint storage did not settle within 1000 ms of the cancel; the job ended without it']);
  });

  it('ends the job closeTimeoutMs after a highestCheckpointId() that never settles holds the final checkpoint', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, closeTimeoutMs: 1_000, logger: silentLogger });
    env.enableCheckpointing(10, { storage: storage({ highestCheckpointId: never }).storage });
    env.fromElements(1, 2, 3).addSink(() => undefined);
    const job = env.executeAsync('highest never');
    const events = watched(job);
    await until(() => job.tasks()[0]?.waitingOn === 'the final checkpoint', 'the final checkpoint');

    job.cancel();
    await until(() => job.tasks().every((t) => t.ended), 'the tasks to end');
    await clock.advance(1_000);
    expect(await statusAfterSettling(job)).toBe('cancelled');
    expect(abandoned(events)).toEqual(['highestCheckpointId() of the checkpoint storage did not settle within 1000 ms of the cancel; the job ended without it']);
  });

  it("ends the job at once while restoreFrom: 'latest' waits on a loadLatest() that never settles", async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, logger: silentLogger });
    env.enableCheckpointing(10, { storage: storage({ loadLatest: never }).storage });
    env.fromElements(1, 2, 3).addSink(() => undefined).name('out');
    const job = env.executeAsync('load never', { restoreFrom: 'latest' });
    const events = watched(job);
    await drain();

    // No attempt runs yet, so nothing else is waited for: no time has to pass.
    job.cancel();
    expect(await statusAfterSettling(job)).toBe('cancelled');
    const result = await job.result;
    expect(result.restoredFrom).toBeUndefined();
    expect(result.operators.map((o) => [o.name, o.recordsIn, o.recordsOut])).toEqual([
      ['Source: Elements', 0, 0],
      ['out', 0, 0],
    ]);
    expect(abandoned(events)).toEqual(['loadLatest() of the checkpoint storage had not settled when the job was cancelled; the job ended without it']);
  });

  it('without a cancel, waits for a slow store however long it takes and completes its checkpoint', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, closeTimeoutMs: 1_000, logger: silentLogger });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { storage: slow, stored } = storage();
    env.enableCheckpointing(10, { storage: { ...slow, store: async (checkpoint) => (await held, slow.store(checkpoint)) } });
    env.fromElements(1, 2, 3).addSink(() => undefined);
    const job = env.executeAsync('slow store');
    const events = watched(job);
    await until(() => job.tasks()[0]?.waitingOn === 'the final checkpoint', 'the final checkpoint');
    await clock.advance(60_000);
    expect(await statusAfterSettling(job)).toBe('running');

    release();
    expect((await job.result).status).toBe('finished');
    expect(stored.map((s) => s.checkpoint.final)).toEqual([true]);
    expect(events.filter((e) => e.fields.event === 'checkpoint.completed')).toHaveLength(1);
    expect(abandoned(events)).toEqual([]);
  });
});
