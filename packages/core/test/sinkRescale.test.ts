import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FileSink,
  redistributeListState,
  TwoPhaseCommitSink,
  type OperatorListState,
  type SinkWriter,
  type SinkWriterContext,
} from '../src/index.js';

/** Transactions are numbers; records what it commits and what `recover` was told to keep. */
class Recording extends TwoPhaseCommitSink<string, number> {
  readonly committed: number[] = [];
  readonly kept: (readonly number[])[] = [];
  protected beginTransaction(): number {
    return 100;
  }
  protected write(): void {}
  protected preCommit(): Promise<void> {
    return Promise.resolve();
  }
  protected commit(txn: number): Promise<void> {
    this.committed.push(txn);
    return Promise.resolve();
  }
  protected abort(): Promise<void> {
    return Promise.resolve();
  }
  protected recover(_ctx: SinkWriterContext, keep: readonly number[]): Promise<void> {
    this.kept.push(keep);
    return Promise.resolve();
  }
}

const context = (subtaskIndex: number, parallelism: number, restored: Partial<SinkWriterContext> = {}): SinkWriterContext => ({
  subtaskIndex,
  parallelism,
  metrics: undefined as never,
  log: undefined as never,
  restoredState: undefined,
  ...restored,
});

describe('TwoPhaseCommitSink restored at another parallelism', () => {
  it('commits only its share of the pending transactions and keeps all of them from recover', async () => {
    const sink = new Recording();
    const pending = (...txns: number[]) => ({ pending: txns.map((txn) => ({ checkpointId: 4, txn })) });
    await sink.createWriter(context(1, 3, { restoredListState: pending(2, 5), restoredUnionListState: pending(1, 2, 3, 4, 5) }));
    expect(sink.committed).toEqual([2, 5]);
    expect(sink.kept).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('restores the opaque state of a checkpoint written before list state', async () => {
    const sink = new Recording();
    await sink.createWriter(context(0, 1, { restoredState: { pending: [{ checkpointId: 2, txn: 7 }] } }));
    expect(sink.committed).toEqual([7]);
    expect(sink.kept).toEqual([[7]]);
  });
});

/** Lines of the visible (committed) files of `dir`, sorted. */
function visibleLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l !== ''))
    .sort();
}

/** Writers of a run that "crashed": a real crash closes their files with the process; here they are closed after each test. */
const deadWriters: SinkWriter<string>[] = [];
afterEach(async () => {
  // Node 26 fails a process whose FileHandle is left for the garbage collector. What close() then does to the
  // files no longer matters: the test has checked them.
  for (const writer of deadWriters.splice(0)) await writer.close?.()?.catch(() => undefined);
});

/**
 * Writers of an old run at `oldParallelism` each write records and take
 * checkpoints 1 and 2 (pre-commits), then write more that no checkpoint
 * covers; the run dies before it commits anything. Returns every writer's
 * list state at checkpoint 2.
 */
async function crashAfterCheckpoint(dir: string, oldParallelism: number, guarantee: 'exactly-once' | 'at-least-once') {
  const lists: OperatorListState[] = [];
  for (let s = 0; s < oldParallelism; s++) {
    const writer: SinkWriter<string> = await FileSink.jsonLines<string>(dir, { guarantee }).createWriter(context(s, oldParallelism));
    deadWriters.push(writer);
    for (let i = 0; i < 3; i++) await writer.write(`covered-${s}-${i}`);
    await writer.snapshotListState?.(1);
    for (let i = 3; i < 6; i++) await writer.write(`covered-${s}-${i}`);
    lists.push(await (writer.snapshotListState?.(2) as Promise<OperatorListState>));
    await writer.write(`after-${s}`);
    await writer.flush?.();
    // The crash: the open transaction stays behind as the run left it.
  }
  return lists;
}

describe('FileSink restored at another parallelism', () => {
  it.each([
    [2, 3],
    [2, 1],
    [3, 2],
  ])('exactly once, %i -> %i: every pending part file is published once, leftovers of the dead run are removed', async (from, to) => {
    const dir = mkdtempSync(join(tmpdir(), 'rescale-'));
    const lists = await crashAfterCheckpoint(dir, from, 'exactly-once');
    const { shares, union } = redistributeListState(lists, to);
    const writers = await Promise.all(
      shares.map((share, s) =>
        Promise.resolve(FileSink.jsonLines<string>(dir, {}).createWriter(context(s, to, { restoredListState: share, restoredUnionListState: union }))),
      ),
    );
    for (const writer of writers) await writer.close?.();
    const expected = Array.from({ length: from }, (_, s) => [0, 1, 2, 3, 4, 5].map((i) => JSON.stringify(`covered-${s}-${i}`))).flat();
    expect(visibleLines(dir)).toEqual(expected.sort());
    expect(readdirSync(dir).filter((name) => name.endsWith('.inprogress'))).toEqual([]);
  });

  it('never removes a pending part file another subtask is about to publish', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rescale-'));
    const lists = await crashAfterCheckpoint(dir, 2, 'exactly-once');
    const { shares, union } = redistributeListState(lists, 3);
    // Subtask 1 recovers (and cleans up) first; the others publish afterwards.
    const order = [1, 0, 2];
    for (const s of order) {
      const writer = await FileSink.jsonLines<string>(dir, {}).createWriter(context(s, 3, { restoredListState: shares[s], restoredUnionListState: union }));
      await writer.close?.();
    }
    expect(visibleLines(dir)).toHaveLength(12);
  });

  it('at least once, 2 -> 1: both files are cut back to their checkpoint, one is continued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rescale-'));
    const lists = await crashAfterCheckpoint(dir, 2, 'at-least-once');
    const { shares } = redistributeListState(lists, 1);
    const writer = await FileSink.jsonLines<string>(dir, { guarantee: 'at-least-once' }).createWriter(context(0, 1, { restoredListState: shares[0] }));
    await writer.write('new');
    await writer.flush?.();
    await writer.close?.();
    expect(readdirSync(dir)).toHaveLength(2);
    const lines = visibleLines(dir);
    expect(lines.filter((l) => l.includes('after'))).toEqual([]);
    expect(lines).toHaveLength(13);
  });

  it('at least once, 1 -> 2: the writer without a file starts a new one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rescale-'));
    writeFileSync(join(dir, 'unrelated.txt'), 'x\n');
    const lists = await crashAfterCheckpoint(dir, 1, 'at-least-once');
    const { shares } = redistributeListState(lists, 2);
    for (const [s, share] of shares.entries()) {
      const writer = await FileSink.jsonLines<string>(dir, { guarantee: 'at-least-once' }).createWriter(context(s, 2, { restoredListState: share }));
      await writer.write(`new-${s}`);
      await writer.flush?.();
      await writer.close?.();
    }
    expect(readdirSync(dir).filter((name) => name.startsWith('part-1-'))).toHaveLength(1);
    expect(visibleLines(dir).filter((l) => l.startsWith('"'))).toHaveLength(8);
  });
});
