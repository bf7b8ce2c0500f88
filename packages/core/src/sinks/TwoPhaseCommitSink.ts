import type { Sink, SinkWriter, SinkWriterContext } from '../api/Sink.js';

/**
 * What a two-phase-commit writer stores in a checkpoint, as list state (so a
 * job restores at another parallelism), or as the opaque state of
 * checkpoints written before list state existed.
 */
// A type, not an interface: it must fit OperatorListState's index signature.
type TwoPhaseState<TTxn> = {
  /** Pre-committed transactions by the checkpoint that covers them, oldest first. */
  readonly pending: readonly { readonly checkpointId: number; readonly txn: TTxn }[];
};

/**
 * The base of exactly-once sinks (Flink's `TwoPhaseCommitSinkFunction`).
 *
 * Records go into a transaction. At a checkpoint barrier the writer starts a
 * new transaction for what follows and pre-commits the old one (make it
 * durable but invisible); once the checkpoint is stored it commits it (make
 * it visible). A transaction that took no record is aborted at its barrier
 * instead: nothing of it is stored or committed (no empty part files). After a crash, the restored checkpoint lists the transactions
 * it covers: they are committed again (so `commit` must be idempotent), and
 * anything else the crashed run left behind is aborted by `recover`.
 *
 * Pending transactions are list state: restored at another parallelism,
 * they are dealt out round-robin and each is committed by exactly one
 * subtask, which need not be the one that opened it.
 *
 * Transactions must be plain data (they are stored in checkpoints).
 *
 * Once a writer is closed, `write` throws and `snapshotListState` rejects,
 * naming the sink: the record would go into the transaction `close()`
 * aborted (a `write` that opens its output at the first record would open
 * one nothing cleans up), the snapshot would pre-commit it.
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
   * Before the first transaction: abort what an earlier run of this subtask
   * left behind (transactions of a run that crashed after the checkpoint),
   * except those in `keep`: every transaction the restored checkpoint holds,
   * of any subtask, since another subtask may be committing it right now.
   * Restored at a lower parallelism, old subtasks are gone: leave old subtask
   * `k`'s leftovers to the subtask `k % ctx.parallelism`.
   */
  protected abstract recover(ctx: SinkWriterContext, keep: readonly TTxn[]): Promise<void>;

  /** How this sink's errors name it; the class name unless a subclass says otherwise. */
  protected get sinkName(): string {
    return this.constructor.name || 'TwoPhaseCommitSink';
  }

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    const legacy = (ctx.restoredState as TwoPhaseState<TTxn> | undefined)?.pending;
    const mine = (ctx.restoredListState as TwoPhaseState<TTxn> | undefined)?.pending ?? legacy ?? [];
    const all = (ctx.restoredUnionListState as TwoPhaseState<TTxn> | undefined)?.pending ?? legacy ?? [];
    // The checkpoint we restored from is complete, so everything it pre-committed is committed now.
    for (const { txn } of mine) await this.commit(txn);
    await this.recover(ctx, all.map((p) => p.txn));
    let current = this.beginTransaction(ctx);
    let written = false;
    let pending: { checkpointId: number; txn: TTxn; ready: Promise<void>; committed?: Promise<void> }[] = [];
    let closed = false;
    let closing: Promise<void> | undefined;
    const afterClose = (call: string) =>
      new Error(`${this.sinkName}: ${call} after close() in subtask ${ctx.subtaskIndex}: the writer is closed and its open transaction aborted, nothing more goes into it`);
    return {
      write: (value) => {
        if (closed) throw afterClose('write()');
        written = true;
        return this.write(current, value);
      },
      snapshotListState: (checkpointId: number): Promise<TwoPhaseState<TTxn>> => {
        // It would pre-commit the transaction close() aborted.
        if (closed) return Promise.reject(afterClose(`snapshotListState(${checkpointId})`));
        const txn = current;
        const empty = !written;
        current = this.beginTransaction(ctx);
        written = false;
        const ready = empty ? this.abort(txn) : this.preCommit(txn);
        if (!empty) pending.push({ checkpointId, txn, ready });
        return Promise.all([ready, ...pending.map((p) => p.ready)]).then(() => ({
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
      // Pre-committed ones stay for the restore to commit. A second close() aborts nothing more.
      close: () => {
        closed = true;
        return (closing ??= this.abort(current));
      },
    };
  }
}
