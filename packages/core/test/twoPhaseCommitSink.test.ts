import { describe, expect, it } from 'vitest';
import { TwoPhaseCommitSink, type SinkWriterContext } from '../src/index.js';

/** Transactions are numbers; each commit waits until the test releases it. */
class HeldCommits extends TwoPhaseCommitSink<string, number> {
  private next = 0;
  readonly committed: number[] = [];
  readonly releases: (() => void)[] = [];
  protected beginTransaction(): number {
    return this.next++;
  }
  readonly written: string[] = [];
  protected write(_txn: number, value: string): void {
    this.written.push(value);
  }
  protected preCommit(): Promise<void> {
    return Promise.resolve();
  }
  protected commit(txn: number): Promise<void> {
    return new Promise((resolve) =>
      this.releases.push(() => {
        this.committed.push(txn);
        resolve();
      }),
    );
  }
  readonly aborted: number[] = [];
  protected abort(txn: number): Promise<void> {
    this.aborted.push(txn);
    return Promise.resolve();
  }
  protected recover(): Promise<void> {
    return Promise.resolve();
  }
}

const ctx: SinkWriterContext = { subtaskIndex: 0, parallelism: 1, metrics: undefined as never, log: undefined as never, restoredState: undefined };

describe('TwoPhaseCommitSink', () => {
  it('keeps a transaction in the checkpoints taken while its commit runs: a crash before the commit ends cannot lose it', async () => {
    const sink = new HeldCommits();
    const writer = await sink.createWriter(ctx);
    await writer.write('a');
    expect(await writer.snapshotListState?.(1)).toEqual({ pending: [{ checkpointId: 1, txn: 0 }] });
    const committing = writer.notifyCheckpointComplete?.(1);
    await new Promise((resolve) => setImmediate(resolve));
    // Checkpoint 2 is taken while transaction 0 is still being committed.
    await writer.write('b');
    expect(await writer.snapshotListState?.(2)).toEqual({ pending: [{ checkpointId: 1, txn: 0 }, { checkpointId: 2, txn: 1 }] });
    sink.releases[0]?.();
    await committing;
    expect(sink.committed).toEqual([0]);
    await writer.write('c');
    expect(await writer.snapshotListState?.(3)).toEqual({ pending: [{ checkpointId: 2, txn: 1 }, { checkpointId: 3, txn: 2 }] });
    // A second notification while a commit runs does not commit twice.
    const first = writer.notifyCheckpointComplete?.(3);
    const second = writer.notifyCheckpointComplete?.(3);
    await new Promise((resolve) => setImmediate(resolve));
    sink.releases[1]?.();
    await new Promise((resolve) => setImmediate(resolve));
    sink.releases[2]?.();
    await Promise.all([first, second]);
    expect(sink.committed).toEqual([0, 1, 2]);
    expect(sink.releases).toHaveLength(3);
  });

  it('aborts a transaction that took no record at its barrier: nothing of it is stored or committed', async () => {
    const sink = new HeldCommits();
    const writer = await sink.createWriter(ctx);
    await writer.write('a');
    expect(await writer.snapshotListState?.(1)).toEqual({ pending: [{ checkpointId: 1, txn: 0 }] });
    // No record between barriers 1 and 2: transaction 1 is aborted, checkpoint 2 holds only transaction 0.
    expect(await writer.snapshotListState?.(2)).toEqual({ pending: [{ checkpointId: 1, txn: 0 }] });
    expect(sink.aborted).toEqual([1]);
    const committing = writer.notifyCheckpointComplete?.(2);
    await new Promise((resolve) => setImmediate(resolve));
    sink.releases[0]?.();
    await committing;
    expect(sink.committed).toEqual([0]);
    expect(sink.releases).toHaveLength(1);
    await writer.write('b');
    expect(await writer.snapshotListState?.(3)).toEqual({ pending: [{ checkpointId: 3, txn: 2 }] });
  });

  it('refuses a write after close(), naming the sink, instead of writing into the transaction close() aborted', async () => {
    const sink = new HeldCommits();
    const writer = await sink.createWriter(ctx);
    await writer.write('a');
    await writer.close?.();
    expect(sink.aborted).toEqual([0]);
    expect(() => writer.write('b')).toThrow(/^HeldCommits: write\(\) after close\(\) in subtask 0: the writer is closed and its open transaction aborted/);
    expect(sink.written).toEqual(['a']);
    // Nor does a snapshot pre-commit the aborted transaction.
    await expect(writer.snapshotListState?.(1)).rejects.toThrow(/^HeldCommits: snapshotListState\(1\) after close\(\)/);
    await writer.close?.();
    expect(sink.aborted).toEqual([0]);
  });

  it('names an anonymous subclass by its base class', async () => {
    const Anonymous = class extends HeldCommits {};
    Object.defineProperty(Anonymous, 'name', { value: '' });
    const writer = await new Anonymous().createWriter(ctx);
    await writer.close?.();
    expect(() => writer.write('a')).toThrow(/^TwoPhaseCommitSink: write\(\) after close\(\)/);
  });
});
