import { describe, expect, it, vi } from 'vitest';
import {
  InvalidJobError,
  ManualClock,
  RestartStrategies,
  StreamExecutionEnvironment,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type RestartStrategy,
} from '../src/index.js';
import { restartDelay } from '../src/runtime/restartStrategies.js';

const DAY = 24 * 60 * 60 * 1000;
/** Values no duration option accepts, with how the error shows them. */
const NONSENSE = [
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NaN, 'NaN'],
  [-1, '-1'],
] as const;
/** Durations Node's setTimeout cannot hold (it fires them after 1 ms): accepted, and honoured through the clock. */
const LONG = [2 ** 31, 30 * DAY];

/** A checkpoint storage in memory that counts what it stored. */
function memoryStorage(): CheckpointStorage & { readonly stored: CompletedCheckpoint[] } {
  const stored: CompletedCheckpoint[] = [];
  return {
    stored,
    store: (checkpoint) => {
      stored.push(checkpoint);
      return Promise.resolve({ location: `mem-${checkpoint.checkpointId}`, bytes: 0 });
    },
    highestCheckpointId: () => Promise.resolve(stored.at(-1)?.checkpointId ?? 0),
    loadLatest: () => Promise.resolve(undefined),
    load: (location) => Promise.reject(new Error(`no checkpoint ${location}`)),
  };
}

/** An async source that yields `first` and then waits until released: keeps a job running while time passes. */
function heldSource(first: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  async function* values(): AsyncGenerator<number> {
    yield first;
    await released;
  }
  return { values: values(), release };
}

/** Each duration of a core API, set to `value`. */
const CORE_DURATIONS: readonly (readonly [string, string, (value: number) => unknown])[] = [
  ['enableCheckpointing()', 'intervalMs', (v) => StreamExecutionEnvironment.create().enableCheckpointing(v, { storage: memoryStorage() })],
  ['restartStrategy fixedDelay', 'delayMs', (v) => StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(3, v) })],
  [
    'restartStrategy exponentialDelay',
    'initialDelayMs',
    (v) => StreamExecutionEnvironment.create().setRestartStrategy(RestartStrategies.exponentialDelay({ initialDelayMs: v, maxDelayMs: 2 ** 40 })),
  ],
  [
    'restartStrategy exponentialDelay',
    'maxDelayMs',
    (v) => StreamExecutionEnvironment.create().setRestartStrategy(RestartStrategies.exponentialDelay({ initialDelayMs: 0, maxDelayMs: v })),
  ],
];

describe('durations of the core API', () => {
  describe.each(CORE_DURATIONS)('%s: %s', (owner, option, build) => {
    it.each(NONSENSE)('rejects %s at build time, naming the owner and the option', (value, shown) => {
      expect(() => build(value)).toThrow(InvalidJobError);
      expect(() => build(value)).toThrow(`${owner}: option '${option}' must be a finite number of milliseconds`);
      expect(() => build(value)).toThrow(`got ${shown}`);
    });

    it.each(LONG)('accepts %s ms', (value) => {
      expect(() => build(value)).not.toThrow();
    });
  });

  it('rejects a checkpoint interval of 0 and says how to take none', () => {
    const env = StreamExecutionEnvironment.create();
    expect(() => env.enableCheckpointing(0, { storage: memoryStorage() })).toThrow("enableCheckpointing(): option 'intervalMs' must be a finite number of milliseconds > 0, got 0");
    expect(() => env.enableCheckpointing(Number.POSITIVE_INFINITY, { storage: memoryStorage() })).toThrow(
      '(to take no checkpoints, do not enable checkpointing)',
    );
  });

  it('rejects an infinite or NaN restart multiplier', () => {
    for (const multiplier of [Number.POSITIVE_INFINITY, Number.NaN, 0.5]) {
      expect(() => RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 10, multiplier })).toThrow(
        `restartStrategy exponentialDelay: option 'multiplier' must be a finite number >= 1, got ${multiplier}`,
      );
    }
  });

  it('takes Infinity restart attempts as unlimited', () => {
    const strategy = RestartStrategies.fixedDelay(Number.POSITIVE_INFINITY, 10);
    expect(() => StreamExecutionEnvironment.create({ restartStrategy: strategy })).not.toThrow();
    expect(restartDelay(strategy, 1e9)).toBe(10);
    expect(() => RestartStrategies.fixedDelay(1.5, 10)).toThrow(InvalidJobError);
    // A strategy built by hand is checked by the environment.
    expect(() => StreamExecutionEnvironment.create({ restartStrategy: { kind: 'fixedDelay', attempts: 1.5, delayMs: 10 } })).toThrow(InvalidJobError);
  });

  it('keeps an exponential restart delay a number after thousands of restarts (0 * Infinity would be NaN)', () => {
    const zero: RestartStrategy = RestartStrategies.exponentialDelay({ initialDelayMs: 0, maxDelayMs: 1000 });
    const one: RestartStrategy = RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 1000 });
    expect([1, 2000, 5000].map((n) => restartDelay(zero, n))).toEqual([0, 0, 0]);
    expect([1, 2, 2000].map((n) => restartDelay(one, n))).toEqual([1, 2, 1000]);
  });

  it('takes the first checkpoint 30 days in, not 1 ms in', async () => {
    const clock = new ManualClock(0);
    const storage = memoryStorage();
    const env = StreamExecutionEnvironment.create({ clock }).enableCheckpointing(30 * DAY, { storage });
    const source = heldSource(1);
    env.fromAsyncIterable(source.values).addSink(() => undefined);
    const job = env.executeAsync('monthly checkpoints');
    await clock.advance(1);
    await clock.advance(1);
    expect(storage.stored).toEqual([]);
    await clock.setTime(30 * DAY - 1);
    expect(storage.stored).toEqual([]);
    await clock.setTime(30 * DAY);
    expect(storage.stored.map((c) => c.checkpointId)).toEqual([1]);
    source.release();
    expect((await job.result).status).toBe('finished');
  });

  it('on the system clock too: a 30-day interval takes no checkpoint in the first second (it took 417 a second)', async () => {
    // Fake timers fire an overflowing setTimeout after 1 ms, as Node does; setImmediate stays real so the job runs.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 });
    try {
      const storage = memoryStorage();
      // No stall check every minute: 30 fake days would fire it 43,200 times, seconds of a loaded CI machine.
      const env = StreamExecutionEnvironment.create({ stallWarningMs: 0 }).enableCheckpointing(30 * DAY, { storage });
      const source = heldSource(1);
      env.fromAsyncIterable(source.values).addSink(() => undefined);
      const job = env.executeAsync('monthly checkpoints');
      for (let ms = 0; ms < 1000; ms += 100) await vi.advanceTimersByTimeAsync(100);
      expect(storage.stored).toEqual([]);
      await vi.advanceTimersByTimeAsync(30 * DAY - 1000);
      expect(storage.stored.map((c) => c.checkpointId)).toEqual([1]);
      source.release();
      expect((await job.result).status).toBe('finished');
    } finally {
      vi.useRealTimers();
    }
  });

  it('restarts a failed job after a 30-day delay, not 1 ms later', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(1, 30 * DAY) });
    let calls = 0;
    env
      .fromElements(1, 2, 3)
      .map((n) => {
        if (++calls === 1) throw new Error('first call fails');
        return n;
      })
      .addSink(() => undefined);
    const job = env.executeAsync('patient restart');
    await clock.advance(1);
    await clock.advance(1);
    expect(calls).toBe(1);
    await clock.setTime(30 * DAY - 1);
    expect(calls).toBe(1);
    await clock.setTime(30 * DAY);
    const result = await job.result;
    expect(result.restarts).toBe(1);
    expect(calls).toBe(4);
  });
});
