import type { Sink, SinkWriter, SinkWriterContext } from '../api/Sink.js';

/** What a two-phase-commit writer stores in a checkpoint. */
interface TwoPhaseState<TTxn> {
  /** Pre-committed transactions by the checkpoint that covers them, oldest first. */
  readonly pending: { readonly checkpointId: number; readonly txn: TTxn }[];
}

/**
 * The base of exactly-once sinks (Flink's `TwoPhaseCommitSinkFunction`).
 *
 * Records go into a transaction. At a checkpoint barrier the writer starts a
 * new transaction for what follows and pre-commits the old one (make it
 * durable but invisible); once the checkpoint is stored it commits it (make
 * it visible). After a crash, the restored checkpoint lists the transactions
 * it covers: they are committed again (so `commit` must be idempotent), and
 * anything else the crashed run left behind is aborted by `recover`.
 *
 * Transactions must be plain data (they are stored in checkpoints).
 */
export abstract class TwoPhaseCommitSink<T, TTxn> implements Sink<T> {
  /** Opens a transaction for the records that follow. Synchronous: it starts at a barrier. */
  protected abstract beginTransaction(ctx: SinkWriterContext): TTxn;
  /** Adds a record to the transaction; a returned promise backpressures. */
  protected abstract write(txn: TTxn, value: T): void | Promise<void>;
  /** Makes the transaction durable, still invisible. */
  protected abstract preCommit(txn: TTxn): Promise<void>;
  /** Makes a pre-committed transaction visible. Must be idempotent. */
  protected abstract commit(txn: TTxn): Promise<void>;
  /** Discards a transaction that was not pre-committed (failure, cancellation). */
  protected abstract abort(txn: TTxn): Promise<void>;
  /**
   * After a restore, before the first transaction: abort whatever this
   * subtask left behind that is not in `keep` (transactions of a run that
   * crashed after the checkpoint).
   */
  protected abstract recover(ctx: SinkWriterContext, keep: readonly TTxn[]): Promise<void>;

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    const restored = (ctx.restoredState as TwoPhaseState<TTxn> | undefined)?.pending ?? [];
    // The checkpoint we restored from is complete, so everything it pre-committed is committed now.
    for (const { txn } of restored) await this.commit(txn);
    await this.recover(ctx, restored.map((p) => p.txn));
    let current = this.beginTransaction(ctx);
    let pending: { checkpointId: number; txn: TTxn; ready: Promise<void>; committed?: Promise<void> }[] = [];
    return {
      write: (value) => this.write(current, value),
      snapshotState: (checkpointId: number): Promise<TwoPhaseState<TTxn>> => {
        const txn = current;
        current = this.beginTransaction(ctx);
        const ready = this.preCommit(txn);
        pending.push({ checkpointId, txn, ready });
        return Promise.all(pending.map((p) => p.ready)).then(() => ({
          pending: pending.map(({ checkpointId: id, txn: t }) => ({ checkpointId: id, txn: t })),
        }));
      },
      notifyCheckpointComplete: async (checkpointId: number): Promise<void> => {
        for (const entry of pending.filter((p) => p.checkpointId <= checkpointId)) {
          entry.committed ??= entry.ready.then(() => this.commit(entry.txn));
          await entry.committed;
          // Only a committed transaction leaves the list: a checkpoint taken while its commit
          // runs still holds it, so a crash before the commit ends cannot lose it.
          pending = pending.filter((p) => p !== entry);
        }
      },
      // The open transaction was never pre-committed: nothing of it may become visible.
      // Pre-committed ones stay for the restore to commit.
      close: () => this.abort(current),
    };
  }
}
