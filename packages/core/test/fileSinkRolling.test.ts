import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSink, InvalidJobError, ManualClock, RestartStrategies, StreamExecutionEnvironment, type OperatorListState, type SinkWriter, type SinkWriterContext } from '../src/index.js';
import { FINAL_CHECKPOINT } from '../src/runtime/TaskGateway.js';
import { jsonLinesSink } from '../src/sinks/FileSink.js';
import { nodeFileSystem, type SinkFileSystem } from '../src/sinks/fileSystem.js';
import { driveUntilDone, gatedSource, until } from './support/gatedSource.js';

/** Real file I/O with fsyncs: on a loaded shared machine it needs more than the default 5 s. */
const REAL_IO_TIMEOUT_MS = 30_000;

type Row = { id: number };
type Options = Parameters<typeof FileSink.jsonLines<Row>>[1];

/** A writer of subtask `subtask` of `parallelism`, restored from `lists` when given (each subtask's share and the union). */
function writer(dir: string, options: Options, restored?: { share: OperatorListState; union: OperatorListState }, subtask = 0, parallelism = 1): Promise<SinkWriter<Row>> {
  const ctx: SinkWriterContext = {
    subtaskIndex: subtask,
    parallelism,
    metrics: undefined as never,
    log: undefined as never,
    restoredState: undefined,
    restoredListState: restored?.share,
    restoredUnionListState: restored?.union,
  };
  return Promise.resolve(FileSink.jsonLines<Row>(dir, options).createWriter(ctx));
}

const write = (w: SinkWriter<Row>, from: number, to: number) => {
  for (let id = from; id < to; id++) void w.write({ id });
};

/** Visible part files of `dir`, each as the ids it holds; every file ends with a whole line. */
function published(dir: string): number[][] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as Row).id);
    });
}

const hidden = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.'));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A checkpoint: the barrier's snapshot, then its completion. */
async function checkpoint(w: SinkWriter<Row>, id: number): Promise<OperatorListState> {
  const state = await w.snapshotListState!(id);
  await w.notifyCheckpointComplete!(id);
  return state;
}

describe("FileSink 'rolling': part files that span checkpoints", { timeout: REAL_IO_TIMEOUT_MS }, () => {
  it('publishes a part file at its checkpointsPerPart-th checkpoint, with every record written meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const w = await writer(dir, { rolling: { checkpointsPerPart: 3 } });
    write(w, 0, 10);
    await checkpoint(w, 1);
    write(w, 10, 20);
    await checkpoint(w, 2);
    expect(published(dir)).toEqual([]);
    expect(hidden(dir)).toHaveLength(1);
    write(w, 20, 30);
    await checkpoint(w, 3);
    expect(published(dir)).toEqual([range(0, 30)]);
    write(w, 30, 35);
    await checkpoint(w, 4);
    expect(published(dir)).toEqual([range(0, 30)]);
    await w.close!();
  });

  it('counts the checkpoints a part passes from its first record: a quiet stretch before it opens no part', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const w = await writer(dir, { rolling: { checkpointsPerPart: 2 } });
    await checkpoint(w, 1);
    write(w, 0, 5);
    await checkpoint(w, 2);
    expect(published(dir)).toEqual([]);
    await checkpoint(w, 3);
    expect(published(dir)).toEqual([range(0, 5)]);
    await w.close!();
  });

  it('publishes a part file at the next checkpoint once it holds partSizeBytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const w = await writer(dir, { rolling: { checkpointsPerPart: 1_000, partSizeBytes: 100 } });
    write(w, 0, 5); // 5 lines of 9-10 bytes: under 100
    await checkpoint(w, 1);
    expect(published(dir)).toEqual([]);
    write(w, 5, 15);
    await checkpoint(w, 2);
    expect(published(dir)).toEqual([range(0, 15)]);
    expect(statSync(join(dir, readdirSync(dir).find((f) => !f.startsWith('.'))!)).size).toBeGreaterThanOrEqual(100);
    await w.close!();
  });

  it('counts partSizeBytes in UTF-8 bytes, not characters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const w = await writer(dir, { rolling: { checkpointsPerPart: 1_000, partSizeBytes: 100 } });
    // 3 lines of 25 characters, 37 bytes each (a euro sign takes 3): 75 characters, 111 bytes.
    for (let id = 0; id < 3; id++) void w.write({ id, text: '€€€€€€' } as Row);
    await checkpoint(w, 1);
    expect(published(dir)).toEqual([range(0, 3)]);
    expect(statSync(join(dir, readdirSync(dir).find((f) => !f.startsWith('.'))!)).size).toBe(111);
    await w.close!();
  });

  it('publishes the open part at the end of input (the final checkpoint)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const w = await writer(dir, { rolling: { checkpointsPerPart: 10 } });
    write(w, 0, 7);
    await checkpoint(w, 1);
    write(w, 7, 12);
    await w.flush!();
    await checkpoint(w, FINAL_CHECKPOINT);
    await w.close!();
    expect(published(dir)).toEqual([range(0, 12)]);
    expect(hidden(dir)).toEqual([]);
  });

  it('a restore publishes the open part cut back to what its checkpoint covered, and removes what the failed run wrote after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const options = { rolling: { checkpointsPerPart: 2 } };
    const first = await writer(dir, options);
    write(first, 0, 10);
    await checkpoint(first, 1); // part A stays open: its first interval
    write(first, 10, 20);
    await checkpoint(first, 2); // A (0-19) closes and is published
    write(first, 20, 30);
    const stored = await checkpoint(first, 3); // B (20-29) stays open: the checkpoint covers its 10 records
    write(first, 30, 45); // into B after the barrier, then the run fails
    await first.snapshotListState!(4); // a checkpoint that never completes: B closes at it, nothing publishes it
    write(first, 45, 50); // part C, in no checkpoint
    await first.close!();
    expect(published(dir)).toEqual([range(0, 20)]);

    const restored = await writer(dir, options, { share: stored, union: stored });
    expect(published(dir)).toEqual([range(0, 20), range(20, 30)]);
    expect(hidden(dir)).toEqual([]);
    write(restored, 30, 40);
    await restored.flush!();
    await checkpoint(restored, FINAL_CHECKPOINT);
    await restored.close!();
    expect(published(dir).flat().sort((a, b) => a - b)).toEqual(range(0, 40));
  });

  it('a restore publishes a part closed at its checkpoint and not yet published (the run failed before the checkpoint completed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const options = { rolling: { checkpointsPerPart: 1 } };
    const first = await writer(dir, options);
    write(first, 0, 10);
    const stored = await first.snapshotListState!(1); // stored, but the run fails before it hears so
    write(first, 10, 15);
    await first.close!();
    expect(published(dir)).toEqual([]);
    const restored = await writer(dir, options, { share: stored, union: stored });
    expect(published(dir)).toEqual([range(0, 10)]);
    expect(hidden(dir)).toEqual([]);
    await restored.close!();
  });

  it('restores at another parallelism: every part is published once, by one subtask, and nothing else stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const options = { rolling: { checkpointsPerPart: 1 } };
    const old = await Promise.all([0, 1, 2].map((s) => writer(dir, options, undefined, s, 3)));
    // Two parts per old subtask in checkpoint 2 (closed at 1 and at 2, neither published: checkpoint 1 never completed).
    old.forEach((w, s) => write(w, s * 100, s * 100 + 10));
    await Promise.all(old.map(async (w) => w.snapshotListState!(1)));
    old.forEach((w, s) => write(w, s * 100 + 10, s * 100 + 20));
    const states = await Promise.all(old.map(async (w) => w.snapshotListState!(2)));
    old.forEach((w, s) => write(w, s * 100 + 20, s * 100 + 30)); // after the barrier: gone after the restore
    await Promise.all(old.map(async (w) => w.close!()));
    const parts = states.flatMap((s) => (s as { parts: unknown[] }).parts);
    expect(parts).toHaveLength(6);
    // Dealt round-robin onto 2 subtasks, as the runtime does: subtask 0 gets old subtask 0's first part and old
    // subtask 2's, whose second parts are subtask 1's to publish while subtask 0 clears old subtasks 0 and 2's leftovers.
    const union = { parts };
    const shares = [0, 1].map((s) => ({ parts: parts.filter((_, i) => i % 2 === s) }));
    // One after the other: subtask 0 clears its leftovers before subtask 1 publishes.
    const restored = [await writer(dir, options, { share: shares[0]!, union }, 0, 2), await writer(dir, options, { share: shares[1]!, union }, 1, 2)];
    expect(published(dir).flat().sort((a, b) => a - b)).toEqual([...range(0, 20), ...range(100, 120), ...range(200, 220)]);
    expect(hidden(dir)).toEqual([]);
    await Promise.all(restored.map(async (w) => w.close!()));
  });

  it("restores a checkpoint of an earlier release, whose writer kept a part file per transaction, with or without rolling", async () => {
    for (const options of [{}, { rolling: { checkpointsPerPart: 10 } }]) {
      const dir = mkdtempSync(join(tmpdir(), 'roll-'));
      // What that writer (a TwoPhaseCommitSink) left: a pre-committed hidden part of checkpoint 1 and the open one after it.
      const txn = { temp: join(dir, '.part-0-0ld0run0-000000.jsonl.inprogress'), final: join(dir, 'part-0-0ld0run0-000000.jsonl') };
      writeFileSync(txn.temp, '{"id":0}\n{"id":1}\n');
      writeFileSync(join(dir, '.part-0-0ld0run0-000001.jsonl.inprogress'), '{"id":2}\n');
      const state = { pending: [{ checkpointId: 1, txn }] };
      const restored = await writer(dir, options, { share: state, union: state });
      expect(published(dir)).toEqual([[0, 1]]);
      expect(hidden(dir)).toEqual([]);
      await restored.close!();
    }
  });

  it('after close(), a write and a snapshot fail naming the sink, and a part no checkpoint holds is removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const w = await writer(dir, { rolling: { checkpointsPerPart: 2 } });
    write(w, 0, 3);
    await w.close!();
    expect(readdirSync(dir)).toEqual([]);
    expect(() => w.write({ id: 3 })).toThrow('FileSink: write() after close() in subtask 0: the writer is closed, nothing more goes into its part files');
    await expect(w.snapshotListState!(1)).rejects.toThrow('FileSink: snapshotListState(1) after close() in subtask 0');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('checks the option at build time, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const build = (options: unknown) => () => FileSink.jsonLines(dir, options as Options);
    expect(build({ rolling: {} })).toThrow("FileSink.jsonLines(): option 'rolling.checkpointsPerPart' must be an integer >= 1, got undefined");
    expect(build({ rolling: { checkpointsPerPart: 0 } })).toThrow("option 'rolling.checkpointsPerPart' must be an integer >= 1, got 0");
    expect(build({ rolling: { checkpointsPerPart: 2, partSizeBytes: 1.5 } })).toThrow("option 'rolling.partSizeBytes' must be an integer >= 1, got 1.5");
    expect(build({ rolling: { checkpointPerPart: 2 } })).toThrow("unknown option 'rolling.checkpointPerPart'; did you mean 'rolling.checkpointsPerPart'?");
    expect(build({ rolling: 5 })).toThrow("option 'rolling' must be an object, got 5");
    expect(build({ guarantee: 'at-least-once', rolling: { checkpointsPerPart: 2 } })).toThrow("option 'rolling' is for guarantee 'exactly-once'");
    expect(build({ rolling: {} })).toThrow(InvalidJobError);
  });

  it('in a job that fails and restarts, every record is published exactly once, in fewer files than checkpoints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    env.enableCheckpointing(10, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    const gate = gatedSource(400);
    let failed = false;
    env
      .fromSource(gate.source, 'numbers')
      .map((id) => {
        if (id === 350 && !failed) {
          failed = true;
          throw new Error('map broke');
        }
        return { id };
      })
      .sinkTo(FileSink.jsonLines<Row>(dir, { rolling: { checkpointsPerPart: 3 } }))
      .name('Sink: files');
    const job = env.executeAsync('rolling');
    const completed = () => (env.metrics.snapshot()['job.rolling.checkpoints.numCompletedCheckpoints'] as number | undefined) ?? 0;
    for (let c = 1; c <= 7; c++) {
      gate.openUntil(c * 50);
      await until(() => (env.metrics.snapshot()['job.rolling.operator.Sink: files.0.numRecordsIn'] as number | undefined) === c * 50, `${c * 50} records`);
      await clock.advance(10);
      await until(() => completed() === c, `checkpoint ${c}`);
    }
    // Two parts closed (checkpoints 3 and 6); the third holds 300-349 when the map fails at 350.
    expect(published(dir)).toEqual([range(0, 150), range(150, 300)]);
    gate.openUntil(400);
    await driveUntilDone(job.result, clock);
    expect((await job.result).restarts).toBe(1);
    expect(published(dir).flat()).toEqual(range(0, 400));
    expect(published(dir).length).toBeLessThan(completed() + 1);
    expect(hidden(dir)).toEqual([]);
  });
});

/**
 * The real file system, whose writes are held back while `stall` is on (a stalled disk): `held` resolves once one is,
 * `release()` lets them through.
 */
function stallingFileSystem(): SinkFileSystem & { stall: boolean; held: Promise<void>; release: () => void } {
  let release = () => undefined as void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let hold = () => undefined as void;
  const fs = {
    stall: false,
    held: new Promise<void>((resolve) => (hold = resolve)),
    release: () => release(),
    open: async (path: string, flags: 'wx' | 'r+' | 'r') => {
      const handle = await nodeFileSystem.open(path, flags);
      return {
        write: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
          if (fs.stall) {
            hold();
            await released;
          }
          return handle.write(buffer, offset, length, position);
        },
        read: (buffer: Uint8Array, offset: number, length: number, position: number) => handle.read(buffer, offset, length, position),
        truncate: (length: number) => handle.truncate(length),
        stat: () => handle.stat(),
        sync: () => handle.sync(),
        close: () => handle.close(),
      };
    },
    mkdir: (path: string) => nodeFileSystem.mkdir(path),
    readdir: (path: string) => nodeFileSystem.readdir(path),
    rename: (from: string, to: string) => nodeFileSystem.rename(from, to),
    rm: (path: string) => nodeFileSystem.rm(path),
    exists: (path: string) => nodeFileSystem.exists(path),
  };
  return fs;
}

const context = (restored?: OperatorListState): SinkWriterContext => ({
  subtaskIndex: 0,
  parallelism: 1,
  metrics: undefined as never,
  log: undefined as never,
  restoredState: undefined,
  restoredListState: restored,
  restoredUnionListState: restored,
});

describe('a part whose fsync fails at its closing barrier', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  it('fails the checkpoint and still closes the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    let open = 0;
    const fs: SinkFileSystem = {
      ...nodeFileSystem,
      open: async (path, flags) => {
        const handle = await nodeFileSystem.open(path, flags);
        if (path === dir) return handle;
        open++;
        return {
          write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
          read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
          truncate: (length) => handle.truncate(length),
          stat: () => handle.stat(),
          sync: () => Promise.reject(Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' })),
          close: async () => {
            open--;
            await handle.close();
          },
        };
      },
    };
    const w = await jsonLinesSink<Row>(dir, {}, fs).createWriter(context());
    write(w, 0, 5);
    await expect(Promise.resolve(w.snapshotListState!(1))).rejects.toThrow('ENOSPC: injected');
    expect(open).toBe(0);
    await w.close!();
  });
});

describe('a restart while a write of the failed attempt is stuck (a close given up on)', { timeout: REAL_IO_TIMEOUT_MS }, () => {
  it("rolling: the restore publishes a copy of what the checkpoint covers, so the stuck write cannot land in the published file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roll-'));
    const fs = stallingFileSystem();
    const options = { rolling: { checkpointsPerPart: 100 } };
    const first = await jsonLinesSink<Row>(dir, options, fs).createWriter(context());
    write(first, 0, 10);
    const stored = await first.snapshotListState!(1);
    fs.stall = true;
    write(first, 10, 20);
    // A barrier flushes records 10-19 into the open part: that write is stuck, and so is the close after it.
    void Promise.resolve(first.snapshotListState!(2)).catch(() => undefined);
    const abandoned = Promise.resolve(first.close!());
    await fs.held;
    fs.stall = false;
    const restored = await jsonLinesSink<Row>(dir, options, fs).createWriter(context(stored));
    expect(published(dir)).toEqual([range(0, 10)]);
    fs.release();
    await abandoned;
    expect(published(dir)).toEqual([range(0, 10)]);
    expect(hidden(dir)).toEqual([]);
    await restored.close!();
  });

  it('at-least-once: the restored writer goes on in a copy of what the checkpoint covers, so the stuck write cannot overwrite its lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alo-'));
    const fs = stallingFileSystem();
    const options = { guarantee: 'at-least-once' as const };
    const first = await jsonLinesSink<Row>(dir, options, fs).createWriter(context());
    write(first, 0, 10);
    const stored = await first.snapshotListState!(1);
    fs.stall = true;
    write(first, 10, 20);
    void Promise.resolve(first.flush!()).catch(() => undefined);
    const abandoned = Promise.resolve(first.close!());
    await fs.held;
    fs.stall = false;
    const restored = await jsonLinesSink<Row>(dir, options, fs).createWriter(context(stored));
    write(restored, 100, 105);
    await restored.flush!();
    fs.release();
    await abandoned;
    await restored.close!();
    expect(published(dir)).toEqual([[...range(0, 10), ...range(100, 105)]]);
  });
});
