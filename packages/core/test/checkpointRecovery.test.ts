import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  FileCheckpointStorage,
  FileSink,
  HeapKeyedStateBackend,
  InvalidJobError,
  ManualClock,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type CheckpointStorage,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type MapFunction,
  type RuntimeContext,
  type Source,
  type ValueState,
} from '../src/index.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';
import { CountPerKey } from './support/countPerKey.js';


const KEYS = 7;

/** Keeps a function in keyed state: fine on the heap, impossible to checkpoint. */
class RememberCallback implements MapFunction<number, number> {
  private state!: ValueState<() => number>;
  open(ctx: RuntimeContext) {
    this.state = ctx.getState(new ValueStateDescriptor<() => number>('callbacks'));
  }
  map(n: number) {
    this.state.update(() => n);
    return n;
  }
}

/**
 * The job under test: source -> [check] -> keyed count -> exactly-once file sink, every
 * operator with a uid. `check` (a map with uid 'check') lets a test make records fail.
 */
function buildJob(
  env: StreamExecutionEnvironment,
  source: Source<number, number>,
  out: string,
  options: { parallelism?: number; check?: (n: number) => void; count?: 'map' | 'reduce' } = {},
) {
  let numbers = env.fromSource(source, 'numbers').uid('numbers');
  const check = options.check;
  if (check !== undefined) {
    numbers = numbers
      .map((n) => {
        check(n);
        return n;
      })
      .uid('check');
  }
  // The same count two ways: a map keeping ValueState, or the built-in reduce over [n, 1] pairs.
  const counted =
    options.count === 'reduce'
      ? numbers
          .map((n): [number, number] => [n, 1])
          .keyBy(([n]) => n % KEYS)
          .reduce(([, count], [n]): [number, number] => [n, count + 1])
      : numbers.keyBy((n) => n % KEYS).map(new CountPerKey());
  counted
    .uid('count')
    .setParallelism(options.parallelism ?? 2)
    .sinkTo(FileSink.jsonLines<[number, number]>(out))
    .uid('out');
}

/** Committed output lines (hidden in-progress files are not output). */
function committed(dir: string): [number, number][] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as [number, number]);
}

/** What every record's count must be: its position among the records of its key. */
function expectExactlyOnce(records: [number, number][], total: number) {
  expect(records.map(([n]) => n).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  for (const [n, count] of records) expect(count).toBe(Math.floor(n / KEYS) + 1);
}

const completedCheckpoints = (env: StreamExecutionEnvironment, job: string) =>
  (env.metrics.snapshot()[`job.${job}.checkpoints.numCompletedCheckpoints`] as number | undefined) ?? 0;

/** Emits each record and sets a keyed timer a second ahead, which emits `timerMark`. */
class RemindLater implements KeyedProcessFunction<number, number, number> {
  constructor(private readonly timerMark: number) {}

  processElement(n: number, ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 1_000);
    out.collect(n);
  }

  onTimer(_timestamp: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    out.collect(this.timerMark);
  }
}

/** Runs the job built on `env` until its first checkpoint, taken with `records` read, then cancels it: a checkpoint to restore from. */
async function checkpointThenCancel(env: StreamExecutionEnvironment, jobName: string, gate: ReturnType<typeof gatedSource>, records: number, clock: ManualClock) {
  const job = env.executeAsync(jobName);
  gate.openUntil(records);
  await clock.advance(10);
  await until(() => completedCheckpoints(env, jobName) === 1, 'checkpoint 1');
  job.cancel();
  await job.result;
}

/**
 * The job under test over 400 records of `source(gate)`, checkpointed every 10 ms: record 250 fails once,
 * after a checkpoint, and the job restarts in-process `delayMs` later from that checkpoint.
 */
async function failOnceAndRestart(jobName: string, delayMs: number, source: (gate: ReturnType<typeof gatedSource>) => Source<number, number>) {
  const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const out = mkdtempSync(join(tmpdir(), 'out-'));
  const clock = new ManualClock(0);
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, restartStrategy: RestartStrategies.fixedDelay(2, delayMs) });
  env.enableCheckpointing(10, { storage });
  const gate = gatedSource(400);
  let failures = 0;
  buildJob(env, source(gate), out, {
    parallelism: 1,
    check: (n) => {
      if (n === 250 && failures === 0) {
        failures++;
        throw new Error('flaky dependency');
      }
    },
  });
  const job = env.executeAsync(jobName);
  gate.openUntil(200);
  await clock.advance(10);
  await until(() => completedCheckpoints(env, jobName) >= 1, 'a checkpoint');
  gate.openUntil(400);
  await driveUntilDone(job.result, clock);
  return { result: await job.result, out };
}

describe('checkpoints and recovery', () => {
  it.each(['map', 'reduce'] as const)('restores keyed state and source position after a failure: every record exactly once (count by %s)', async (count) => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);

    // First run: 120 records, a checkpoint, 60 more, then the job fails.
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate1 = gatedSource(1000);
    let failNow = false;
    buildJob(env1, gate1.source, out, {
      count,
      check: () => {
        if (failNow) throw new Error('crash');
      },
    });
    const job1 = env1.executeAsync('exactly once');
    gate1.openUntil(120);
    await clock.advance(10);
    await until(() => completedCheckpoints(env1, 'exactly once') === 1, 'checkpoint 1');
    gate1.openUntil(180);
    await clock.advance(1);
    failNow = true;
    gate1.openUntil(181);
    await expect(job1.result).rejects.toThrow("Job 'exactly once' failed in operator 'Map' (uid 'check'): crash");
    // Only what checkpoint 1 covered is visible.
    expect(committed(out).map(([n]) => n).sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i));

    // Second run: restore and finish.
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate2 = gatedSource(300);
    buildJob(env2, gate2.source, out, { count, check: () => undefined });
    gate2.openUntil(300);
    const result = await env2.execute('exactly once', { restoreFrom: 'latest' });
    expect(result.restoredFrom).toMatch(/chk-0000000001\.ckpt$/);
    expectExactlyOnce(committed(out), 300);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('goes on checkpointing after one source ended, and a restore replays nothing of the ended branch: no record, timer or end-of-input result twice', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    const bounded = [1000, 1001, 1002];
    const TIMER = -1;
    const TOTAL = 9000;
    /**
     * An open source unioned with a bounded branch (it ends at once) into an exactly-once file sink. The
     * bounded branch sets a keyed timer 1 s ahead for each record (not due when its input ends: it must never
     * fire) and, at its end of input, emits TOTAL + its record count (once, whatever the restores).
     */
    const build = (env: StreamExecutionEnvironment, gate: ReturnType<typeof gatedSource>, check: () => void) => {
      const ended = env
        .fromCollection(bounded)
        .uid('bounded')
        .keyBy((n) => n)
        .process(new RemindLater(TIMER))
        .uid('remind')
        .transform<number>('total', (ctx) => {
          let count = 0;
          return {
            processElement: (n: number) => {
              count++;
              ctx.output.collect(n);
            },
            endInput: () => ctx.output.collect(TOTAL + count),
          };
        })
        .uid('total');
      env
        .fromSource(gate.source, 'numbers')
        .uid('numbers')
        .union(ended)
        .map((n) => {
          check();
          return n;
        })
        .uid('check')
        .sinkTo(FileSink.jsonLines<number>(out))
        .uid('out');
    };
    const committedNumbers = () =>
      readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''))
        .map((l) => JSON.parse(l) as number)
        .sort((a, b) => a - b);
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate1 = gatedSource(1000);
    let failNow = false;
    build(env1, gate1, () => {
      if (failNow) throw new Error('crash');
    });
    const job1 = env1.executeAsync('one source ended');
    gate1.openUntil(120);
    // Before, the bounded source's end stopped periodic checkpoints for the whole job: this never came.
    // Checkpoints every 10 ms of the manual clock until one stored past the timers' time is committed (real file I/O: up to 20 s).
    const giveUpAt = performance.now() + 20_000;
    while ((committedNumbers().length < 124 || clock.now() < 1_500) && performance.now() < giveUpAt) {
      await clock.advance(10);
      await new Promise((resolve) => setImmediate(resolve));
    }
    failNow = true;
    gate1.openUntil(121);
    await expect(job1.result).rejects.toThrow('crash');
    // The timers were not due when their input ended: dropped, though the task lived on past their time.
    expect(committedNumbers()).toEqual([...upTo(120), ...bounded, TOTAL + 3]);

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate2 = gatedSource(300);
    build(env2, gate2, () => undefined);
    gate2.openUntil(300);
    await env2.execute('one source ended', { restoreFrom: 'latest' });
    // The bounded branch resumed at its end: its records, its timers and its end-of-input total are not written again.
    expect(committedNumbers()).toEqual([...upTo(300), ...bounded, TOTAL + 3]);
  });

  it('restarts in-process from the latest checkpoint with a restart strategy', async () => {
    // The restart waits 50 ms of (manual) time.
    const { result, out } = await failOnceAndRestart('restarting', 50, (gate) => gate.source);
    expect(result.restarts).toBe(1);
    expect((result.lastFailure as Error).message).toBe('flaky dependency');
    expectExactlyOnce(committed(out), 400);
  });

  it("keeps a source's position as it was at the barrier, though the reader goes on changing the object it returned", async () => {
    // The reader returns one live object as its position and advances it as it reads.
    const live = (gate: ReturnType<typeof gatedSource>): Source<number, number> => ({
      createReader: (ctx) => {
        const reader = gate.source.createReader(ctx);
        const position = { next: 0 };
        return {
          start: (restored) => reader.start?.((restored as unknown as { next: number } | undefined)?.next),
          read: async (max) => {
            const chunk = await reader.read(max);
            position.next = reader.position();
            return chunk;
          },
          position: () => position as unknown as number,
        };
      },
    });
    const { result, out } = await failOnceAndRestart('live position', 0, live);
    expect(result.restarts).toBe(1);
    // Before, the checkpoint held the live object: the restart resumed past records it never counted.
    expectExactlyOnce(committed(out), 400);
  });

  it("restores a source's position again after a second failure, though the reader changed the object it was restored with", async () => {
    const clock = new ManualClock(0);
    // Reads 0..299 a hundred at a time, keeping the position it starts from and advancing it in place;
    // at 100 it waits until a checkpoint has covered it, so that both failures restart from that checkpoint.
    const inPlace: Source<number, { offset: number }> = {
      createReader: () => {
        let position = { offset: 0 };
        let covered = false;
        return {
          start: (restored) => {
            position = restored ?? { offset: 0 };
            covered = position.offset >= 100;
          },
          read: async () => {
            if (position.offset >= 300) return null;
            if (position.offset === 100 && !covered) {
              await new Promise<void>((resolve) => clock.schedule(clock.now() + 5, () => resolve()));
              return [];
            }
            const from = position.offset;
            position.offset = Math.min(from + 100, 300);
            return Array.from({ length: position.offset - from }, (_, i) => from + i);
          },
          position: () => position,
          notifyCheckpointComplete: (_, covering) => {
            if (covering.offset >= 100) covered = true;
          },
        };
      },
    };
    let failures = 0;
    const seen: number[] = [];
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, restartStrategy: RestartStrategies.fixedDelay(3, 0) });
    env.enableCheckpointing(20, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    env
      .fromSource(inPlace, 'numbers')
      .uid('numbers')
      .map((n) => {
        if (n === 150 && failures < 2) throw new Error(`failure ${++failures}`);
        return n;
      })
      .addSink((n) => {
        seen.push(n);
      });
    const result = env.execute('position kept');
    await driveUntilDone(result, clock);
    expect((await result).restarts).toBe(2);
    // Before, the second restart resumed where the first restart's reader had got to (300): 100..199 were lost.
    expect(new Set(seen).size).toBe(300);
  });

  it('gives up after the restart strategy is exhausted, saying how often it tried', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, restartStrategy: RestartStrategies.fixedDelay(2, 5) });
    env.fromElements(1, 2, 3).map(() => {
      throw new Error('always');
    }).addSink(() => undefined);
    const job = env.executeAsync('hopeless');
    const settled = job.result.catch((e: unknown) => e);
    await clock.advance(5);
    await clock.advance(5);
    expect(String(await settled)).toBe("JobExecutionError: Job 'hopeless' failed after 2 restarts in operator 'Map': always");
  });

  it('re-splits keyed state by key group when parallelism changes', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate1 = gatedSource(1000);
    buildJob(env1, gate1.source, out, { parallelism: 2 });
    await checkpointThenCancel(env1, 'rescale', gate1, 140, clock);

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate2 = gatedSource(210);
    gate2.openUntil(210);
    buildJob(env2, gate2.source, out, { parallelism: 3 });
    await env2.execute('rescale', { restoreFrom: 'latest' });
    expectExactlyOnce(committed(out), 210);
  });

  it('refuses a checkpoint that does not fit the job, naming the operator and the checkpoint', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(100);
    buildJob(env1, gate.source, out);
    await checkpointThenCancel(env1, 'v1', gate, 50, clock);

    // The counting operator lost its uid: its state has nowhere to go.
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    env2
      .fromSource(gatedSource(100).source, 'numbers')
      .uid('numbers')
      .keyBy((n) => n % KEYS)
      .map(new CountPerKey())
      .setParallelism(2)
      .sinkTo(FileSink.jsonLines<[number, number]>(out))
      .uid('out');
    const error = await env2.execute('v2', { restoreFrom: 'latest' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toMatch(
      /^Cannot restore checkpoint 1 \(.*chk-0000000001\.ckpt\): it holds state of operator 'Map' \(id 'count'\), which is not in this job/,
    );

    const env3 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    env3.fromElements(1).print();
    await expect(env3.execute('v3', { restoreFrom: join(storage, 'nope.ckpt') })).rejects.toThrow(
      `Job 'v3' cannot restore from ${join(storage, 'nope.ckpt')}: checkpoint ${join(storage, 'nope.ckpt')} cannot be read`,
    );
    // A misspelt 'latest' is taken for a location, as any string is: the error says what was probably meant.
    const env4 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    env4.fromElements(1).print();
    await expect(env4.execute('v4', { restoreFrom: 'latst' })).rejects.toThrow(/^Job 'v4' cannot restore from latst: .*; did you mean 'latest'\?$/);
    const noCheckpointing = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    noCheckpointing.fromElements(1).print();
    expect(() => noCheckpointing.executeAsync('x', { restoreFrom: 'latest' })).toThrow(/restoreFrom needs enableCheckpointing/);
  });

  it('restores a job that gained or lost operators without state (uid-less maps, filters, sinks)', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const clock = new ManualClock(0);
    // v1: the stateful operators have uids; a stateless map and the sink do not.
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(100);
    const seen: number[] = [];
    env1
      .fromSource(gate.source, 'numbers')
      .uid('numbers')
      .map((n) => n)
      .keyBy((n) => n % KEYS)
      .map(new CountPerKey())
      .uid('count')
      .addSink(() => undefined);
    await checkpointThenCancel(env1, 'v1', gate, 50, clock);

    // v2: the stateless map is gone, a filter came in, the sink is another: only the count's state must match.
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate2 = gatedSource(100);
    gate2.openUntil(100);
    env2
      .fromSource(gate2.source, 'numbers')
      .uid('numbers')
      .filter((n) => n >= 0)
      .keyBy((n) => n % KEYS)
      .map(new CountPerKey())
      .uid('count')
      .addSink(([n, count]) => void seen.push(count === Math.floor(n / KEYS) + 1 ? n : -1));
    // Before: "it holds state of operator 'Sink: Function' ..., which is not in this job", though the sink held none.
    const result = await env2.execute('v2', { restoreFrom: 'latest' });
    expect(result.restoredFrom).toMatch(/chk-0000000001\.ckpt$/);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 50));
  });

  it('fails the checkpoint, naming the state, when a state value cannot be stored', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const gate = gatedSource(100);
    env
      .fromSource(gate.source, 'numbers')
      .keyBy((n) => n % 2)
      .map(new RememberCallback())
      .name('remember')
      .addSink(() => undefined);
    const job = env.executeAsync('bad state');
    gate.openUntil(10);
    await clock.advance(10);
    await expect(job.result).rejects.toThrow(/operator 'remember'.*Keyed state 'callbacks' holds a value a checkpoint cannot store/);
  });

  it("numbers a new run's checkpoints after an older run's 40-42, so pruning keeps them and 'latest' resumes the new run", async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const clock = new ManualClock(0);
    // An older run of another job left checkpoints 40-42 here; restoring one of them would fail this job.
    const old = new FileCheckpointStorage(storage);
    for (const id of [40, 41, 42]) {
      await old.store({ version: 1, jobName: 'old', checkpointId: id, timestamp: 0, final: false, operators: {}, sources: { gone: { name: 'gone', parallelism: 1, positions: [0] } } });
    }

    // A new run, not restored: its checkpoints are 43 and 44, then it fails.
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate1 = gatedSource(1000);
    let failNow = false;
    buildJob(env1, gate1.source, out, {
      check: () => {
        if (failNow) throw new Error('crash');
      },
    });
    const job1 = env1.executeAsync('new run');
    gate1.openUntil(100);
    await clock.advance(10);
    await until(() => completedCheckpoints(env1, 'new run') === 1, 'checkpoint 43');
    gate1.openUntil(150);
    await clock.advance(10);
    await until(() => completedCheckpoints(env1, 'new run') === 2, 'checkpoint 44');
    failNow = true;
    gate1.openUntil(151);
    await expect(job1.result).rejects.toThrow('crash');
    expect(readdirSync(storage).sort()).toEqual(['chk-0000000042.ckpt', 'chk-0000000043.ckpt', 'chk-0000000044.ckpt']);

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate2 = gatedSource(200);
    gate2.openUntil(200);
    buildJob(env2, gate2.source, out, { check: () => undefined });
    const result = await env2.execute('new run', { restoreFrom: 'latest' });
    expect(result.restoredFrom).toBe(join(storage, 'chk-0000000044.ckpt'));
    expectExactlyOnce(committed(out), 200);
    // The restored run goes on numbering: its final checkpoint is 45.
    expect(readdirSync(storage).at(-1)).toBe('chk-0000000045.ckpt');
  });

  it("fails 'latest' when every checkpoint is damaged; a run without restoreFrom starts from scratch and numbers after them", async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage });
    const gate1 = gatedSource(30);
    gate1.openUntil(30);
    buildJob(env1, gate1.source, out);
    await env1.execute('damaged');
    const [final] = readdirSync(storage);
    expect(final).toBe('chk-0000000001.ckpt');
    writeFileSync(join(storage, final as string), 'not a checkpoint');

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage });
    buildJob(env2, gatedSource(30).source, out);
    const error = await env2.execute('damaged', { restoreFrom: 'latest' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toBe(
      `Job 'damaged' cannot restore from latest: none of the 1 checkpoints in ${storage} is intact: ` +
        `checkpoint ${join(storage, 'chk-0000000001.ckpt')} is not a Tributary checkpoint or is truncated; ` +
        'to start from scratch instead, run without restoreFrom',
    );
    // Nothing ran: the committed output is still the first run's.
    expectExactlyOnce(committed(out), 30);

    const fresh = mkdtempSync(join(tmpdir(), 'out-'));
    const env3 = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage });
    const gate3 = gatedSource(30);
    gate3.openUntil(30);
    buildJob(env3, gate3.source, fresh);
    expect((await env3.execute('damaged')).restoredFrom).toBeUndefined();
    expectExactlyOnce(committed(fresh), 30);
    expect(readdirSync(storage).sort()).toEqual(['chk-0000000001.ckpt', 'chk-0000000002.ckpt']);
  });

  it('fails the job, naming it, when the storage cannot tell which checkpoint ids it holds', async () => {
    const storage: CheckpointStorage = {
      store: () => Promise.reject(new Error('disk full')),
      highestCheckpointId: () => Promise.reject(new Error('EACCES: permission denied')),
      loadLatest: () => Promise.resolve(undefined),
      load: () => Promise.reject(new Error('no checkpoint')),
    };
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage });
    env.fromElements(1, 2, 3).addSink(() => undefined);
    await expect(env.execute('unreadable')).rejects.toThrow(
      "Job 'unreadable' failed: the checkpoint storage of job 'unreadable' cannot be read: EACCES: permission denied",
    );
  });

  it('resumes a restored final checkpoint without writing anything twice', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage });
    const gate1 = gatedSource(50);
    gate1.openUntil(50);
    buildJob(env1, gate1.source, out);
    await env1.execute('done');
    expectExactlyOnce(committed(out), 50);

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage });
    const gate2 = gatedSource(50);
    gate2.openUntil(50);
    buildJob(env2, gate2.source, out);
    const again = await env2.execute('done', { restoreFrom: 'latest' });
    expect(again.operators.find((o) => o.name === 'numbers')?.recordsOut).toBe(0);
    expectExactlyOnce(committed(out), 50);
  });
});

describe('without checkpointing', () => {
  it('still commits a two-phase-commit sink at the end, takes no keyed snapshot and registers no checkpoint metric', async () => {
    const out = mkdtempSync(join(tmpdir(), 'out-'));
    const keyedSnapshots = vi.spyOn(HeapKeyedStateBackend.prototype, 'snapshot');
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env
      .fromCollection(Array.from({ length: 100 }, (_, i) => i))
      .keyBy((n) => n % KEYS)
      .map(new CountPerKey())
      .sinkTo(FileSink.jsonLines<[number, number]>(out));
    const result = await env.execute('plain');
    expectExactlyOnce(committed(out), 100);
    expect(Object.keys(result.metrics).filter((id) => id.includes('checkpoint'))).toEqual([]);
    expect(result.metrics['job.plain.operator.Map.0.numRecordsIn']).toBe(100);
    expect(keyedSnapshots).not.toHaveBeenCalled();
    keyedSnapshots.mockRestore();
  });
});
