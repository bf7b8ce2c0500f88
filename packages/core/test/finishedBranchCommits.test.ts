import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FileSink,
  ManualClock,
  StreamExecutionEnvironment,
  type OneInputStreamOperator,
  RestartStrategies,
  type Source,
} from '../src/index.js';
import { FINAL_CHECKPOINT } from '../src/runtime/TaskGateway.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';
import { CountAtEnd } from './support/countAtEnd.js';
import { unevenSplits, type Split } from './support/unevenSplits.js';
import { committedRecords } from './support/committedRecords.js';


describe('a branch whose input ended commits at the next checkpoint, while the rest of the job runs (FLIP-147)', () => {
  it.each([{ rolling: false }, { rolling: true }])(
    "an exactly-once sink after a bounded source publishes its output then, not when the job ends (rolling: $rolling)",
    async ({ rolling }) => {
      const bounded = mkdtempSync(join(tmpdir(), 'bounded-'));
      const endless = mkdtempSync(join(tmpdir(), 'endless-'));
      const clock = new ManualClock(0);
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock });
      env.enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
      const options = rolling ? { rolling: { checkpointsPerPart: 1_000 } } : {};
      env.fromCollection(Array.from({ length: 20 }, (_, i) => i)).sinkTo(FileSink.jsonLines<number>(bounded, options));
      const gate = gatedSource(100);
      env.fromSource(gate.source, 'numbers').sinkTo(FileSink.jsonLines<number>(endless, options));
      const job = env.executeAsync('two branches');
      gate.openUntil(10);
      const completed = () => (env.metrics.snapshot()['job.two branches.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
      // The bounded branch ended its input and offered its final snapshot before checkpoint 1 starts.
      await until(() => job.tasks().some((t) => t.waitingOn === 'the final checkpoint'), 'the bounded branch waiting for a checkpoint');
      expect(committedRecords(bounded)).toEqual([]);
      await clock.advance(10);
      await until(() => completed() === 1, 'checkpoint 1');
      // Checkpoint 1 holds that final snapshot: the sink commits its last transaction now.
      await until(() => committedRecords(bounded).length === 20, "the bounded branch's output");
      expect(committedRecords(bounded)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(job.status).toBe('running');
      gate.openUntil(100);
      await driveUntilDone(job.result, clock);
      expect((await job.result).status).toBe('finished');
      expect(committedRecords(bounded)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(committedRecords(endless)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    },
  );

  it('a task restored from a checkpoint taken after its commit still opens its operators: records a changed job brings are written', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const bounded = mkdtempSync(join(tmpdir(), 'bounded-'));
    const clock = new ManualClock(0);
    const build = (env: StreamExecutionEnvironment, n: number, source: Source<number, number>) => {
      env
        .fromCollection(Array.from({ length: n }, (_, i) => i))
        .uid('bounded')
        .sinkTo(FileSink.jsonLines<number>(bounded, { guarantee: 'at-least-once' }))
        .uid('files');
      env.fromSource(source, 'numbers').uid('numbers').addSink(() => undefined);
    };
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    build(env1, 20, gatedSource(100).source);
    const job = env1.executeAsync('two branches');
    const completed = () => (env1.metrics.snapshot()['job.two branches.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    await until(() => job.tasks().some((t) => t.waitingOn === 'the final checkpoint'), 'the bounded branch waiting for a checkpoint');
    await clock.advance(10);
    await until(() => job.tasks().some((t) => t.ended), 'the bounded branch to commit and end');
    await clock.advance(10);
    await until(() => completed() === 2, 'checkpoint 2');
    job.cancel();
    await job.result;

    // The collection grew: its source resumes at 20, and the sink, restored finished with no state, takes 20-29.
    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock }).enableCheckpointing(10, { storage });
    const gate = gatedSource(100);
    gate.openUntil(100);
    build(env2, 30, gate.source);
    await env2.execute('two branches', { restoreFrom: 'latest' });
    expect(committedRecords(bounded)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('a sink without state whose final commit failed commits after the restart: only a commit reported done drops a task to no state', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    env.enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    let attempts = 0;
    let commits = 0;
    // Marks its output done when the checkpoint after its end is stored (a _SUCCESS file, a partition made visible).
    const marker = (): OneInputStreamOperator<number> => ({
      processElement: () => undefined,
      notifyCheckpointComplete: (id) => {
        if (id !== FINAL_CHECKPOINT) return;
        if (++attempts === 1) throw new Error('the metastore is down');
        commits++;
      },
    });
    env.fromCollection([1, 2, 3]).uid('bounded').transform('Mark done', marker).uid('marker');
    const gate = gatedSource(100);
    env.fromSource(gate.source, 'numbers').uid('numbers').addSink(() => undefined);
    const job = env.executeAsync('marks');
    await until(() => job.tasks().some((t) => t.waitingOn === 'the final checkpoint'), 'the bounded branch waiting for a checkpoint');
    // Checkpoint 1 holds its final snapshot, which has no state; the commit fails and the job restarts from it.
    await clock.advance(10);
    await until(() => attempts === 1, 'the failed commit');
    // The restart, its branch's end and the next checkpoint, which holds that end again: the commit runs once more.
    // Checkpoint files are real I/O: time moves on until the commit ran, or 20 s pass.
    const giveUpAt = performance.now() + 20_000;
    while (commits === 0 && performance.now() < giveUpAt) {
      await clock.advance(10);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(commits).toBe(1);
    gate.openUntil(100);
    await driveUntilDone(job.result, clock);
    const result = await job.result;
    expect(result.restarts).toBe(1);
    expect(commits).toBe(1);
  }, 30_000);
});

describe('restored at another parallelism, an operator whose subtasks partly finished', () => {
  it.each([
    // Checkpoint 1 holds subtask 0's final snapshot: it commits after that checkpoint (a slow commit spans several).
    { name: 'before it committed (the first checkpoint holding its final snapshot)', restoreFrom: 1 },
    { name: 'after it committed', restoreFrom: 2 },
  ])('does not count again what a finished subtask had emitted at its end of input, restored from a checkpoint taken $name', async ({ restoreFrom }) => {
    const storage = mkdtempSync(join(tmpdir(), 'ckpt-'));
    // The counts at the end of input, as CountAtEnd emits them (-count); the records pass through too.
    const received: number[] = [];
    const counts = () => received.filter((n) => n < 0).map((n) => -n);
    const build = (env: StreamExecutionEnvironment, source: Source<number, Split[]>) =>
      env
        .fromSource(source, 'splits')
        .transform<number>('Count at end', (ctx) => new CountAtEnd(ctx))
        .uid('count')
        .addSink((n) => void received.push(n));
    const clock = new ManualClock(0);
    const env1 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 }).enableCheckpointing(10, { storage });
    const first = unevenSplits();
    build(env1, first.source);
    const job = env1.executeAsync('counts');
    first.openUntil(150);
    const completed = () => (env1.metrics.snapshot()['job.counts.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    // Subtask 0 reads its 20, emits its count and waits for a checkpoint; subtask 1 has read 50 of its 100.
    await until(() => counts().length === 1, "subtask 0's count");
    await clock.advance(10);
    await until(() => completed() === 1, 'checkpoint 1');
    if (restoreFrom === 2) {
      // Checkpoint 1 holds subtask 0's final snapshot: it commits and ends; checkpoint 2 holds it finished.
      await until(() => job.tasks().filter((t) => t.ended).length === 1, 'subtask 0 to end');
      await clock.advance(10);
      await until(() => completed() === 2, 'checkpoint 2');
    }
    job.cancel();
    await job.result;
    expect(counts()).toEqual([20]);

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 3 }).enableCheckpointing(10, { storage });
    const second = unevenSplits();
    second.openUntil(200);
    build(env2, second.source);
    await env2.execute('counts', { restoreFrom: 'latest' });
    // 120 records in all, each counted once: 20 before the restore, 100 by the three subtasks after it.
    expect(counts().reduce((a, b) => a + b, 0)).toBe(120);
  }, 30_000);
});
