import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink, ManualClock, StreamExecutionEnvironment } from '../src/index.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

/** The records in the visible part files of `dir`. */
const visible = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('part-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map(Number)
    .sort((a, b) => a - b);

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
      expect(visible(bounded)).toEqual([]);
      await clock.advance(10);
      await until(() => completed() === 1, 'checkpoint 1');
      // Checkpoint 1 holds that final snapshot: the sink commits its last transaction now.
      await until(() => visible(bounded).length === 20, "the bounded branch's output");
      expect(visible(bounded)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(job.status).toBe('running');
      gate.openUntil(100);
      await driveUntilDone(job.result, clock);
      expect((await job.result).status).toBe('finished');
      expect(visible(bounded)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(visible(endless)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    },
  );
});
