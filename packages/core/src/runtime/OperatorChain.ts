import {
  snapshotOperator,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorSnapshot,
} from '../operators/StreamOperator.js';
import { OperatorError } from './errors.js';

/** One operator instance in a task, with what the task needs to drive it. */
export interface ChainedOperator {
  /** Stable id of the operator in checkpoints (its uid, or one derived from the graph). */
  readonly id: string;
  readonly operator: OneInputStreamOperator<unknown>;
  readonly ctx: OperatorContext<unknown>;
  /**
   * Restored from a snapshot taken after its end of input (see `OperatorSnapshot.finished`): its end of input does not
   * run again, unless the task takes records again (a job resumed from the final checkpoint of a drained run, see
   * `OperatorChain.inputResumed`).
   */
  readonly restoredFinished?: boolean;
  /** It emits nothing (a sink, an operator without successors): what it holds is not downstream anywhere. */
  readonly terminal?: boolean;
}

/** The snapshot of an operator that ended its input and emits (see `snapshot` and `finalSnapshot`). */
const FINISHED: OperatorSnapshot = { finished: true };

/** The operators' part of a checkpoint: each operator's snapshot by id. */
export type ChainSnapshot = readonly { readonly id: string; readonly snapshot: OperatorSnapshot }[];

/** What the chain asks of the task that runs it. */
export interface ChainDriver {
  /** True once the job stopped: the chain calls no further operator. */
  readonly stopped: boolean;
  /**
   * Runs one lifecycle call of `operator` and waits for it, showing
   * `waitingOn` meanwhile; undefined when the job stopped first. A throw or
   * rejection comes back as an `OperatorError` naming `operator`. With `takesCheckpoints`, the checkpoints asked of
   * the task meanwhile are taken while the call waits (an operator flushing at its end of input).
   */
  step<T>(waitingOn: string, operator: string, call: () => T | Promise<T>, takesCheckpoints?: boolean): Promise<T | undefined>;
  /** Waits until no operator holds the task back (a sink's pending writes, a full channel downstream). */
  settleBackpressure(): Promise<void>;
  /** Runs a possibly asynchronous callback whose failure fails the job, naming `operator`. */
  settleAsync(operator: string, fn: () => void | Promise<void> | undefined): void;
  /** Runs one `close()`; once the job stopped, gives up on it after `closeTimeoutMs`. */
  close(operator: string, close: () => void | Promise<void> | undefined): Promise<void>;
}

/**
 * The operators of one subtask, head first in topological order, and their
 * lifecycle in the order Flink's `OperatorChain` calls it: open tail first
 * (an operator emits only into opened successors), end input and snapshot
 * head first, close head first.
 */
export class OperatorChain {
  /** The operators that ended their input in this run, by position: a checkpoint while others still flush holds them finished. */
  private readonly ended: boolean[] = [];
  /**
   * The task took a record since it was restored: operators restored finished run again, so their end of input runs
   * (an async operator waits for its calls there) and checkpoints no longer hold them finished. Restored from the final
   * checkpoint of a drained job, whose sources read on, they would otherwise drop their calls in flight at the next end.
   */
  private resumed = false;

  constructor(readonly operators: readonly ChainedOperator[]) {}

  /** Records reach the chain: see `resumed`. Called by the task for each chunk it takes; cheap after the first. */
  inputResumed(): void {
    this.resumed = true;
  }

  /** Opens the operators, tail first; then starts the keyed timers restored from a checkpoint (none fires into a closed operator). */
  async open(driver: ChainDriver): Promise<void> {
    for (let i = this.operators.length - 1; i >= 0; i--) {
      const { operator, ctx } = this.operators[i] as ChainedOperator;
      await driver.step(`open() of ${ctx.description}`, ctx.description, () => operator.open?.());
    }
    if (driver.stopped) return;
    for (const { ctx } of this.operators) ctx.keyed?.timers.arm();
  }

  /**
   * Lets each operator flush in order, each after its predecessor's flush settled and what that flush
   * emitted was taken (a sink's pending writes); its keyed timers due by then fire first, and those not
   * yet due once it flushed are dropped, as in Flink.
   */
  async endInput(driver: ChainDriver): Promise<void> {
    for (let i = 0; i < this.operators.length; i++) {
      const { operator, ctx, restoredFinished } = this.operators[i] as ChainedOperator;
      // Its end of input ran before the checkpoint this task restored from, and nothing came since: its results are downstream already.
      if (restoredFinished === true && !this.resumed) continue;
      const timers = ctx.keyed?.timers;
      if (timers !== undefined) await driver.step(`the timers due at the end of input of ${ctx.description}`, ctx.description, () => timers.fireDue());
      if (driver.stopped) return;
      await driver.settleBackpressure();
      if (driver.stopped) return;
      // What is not due when it flushed never fires: not while the task waits for the final checkpoint, nor after a restore.
      const ended = () => {
        timers?.dropPending();
        this.ended[i] = true;
      };
      // It may flush for long (an async operator's last calls): the task's checkpoints go on meanwhile, and one taken
      // once the flush settled (marked at once, before any checkpoint can run) holds it finished.
      await driver.step(
        `endInput() of ${ctx.description}`,
        ctx.description,
        () => {
          const flushing = operator.endInput?.();
          if (flushing instanceof Promise) return flushing.then(ended);
          ended();
          return flushing;
        },
        true,
      );
      if (driver.stopped) return;
    }
    await driver.settleBackpressure();
  }

  /**
   * Takes every operator's snapshot at this instant (the synchronous part)
   * and resolves once the asynchronous parts (sinks flushing) are done. A
   * throw becomes the rejection, naming the operator, so no operator's
   * pending snapshot is left without a handler.
   */
  snapshot(checkpointId: number): Promise<ChainSnapshot> {
    return Promise.all(
      this.operators.map(({ id, operator, ctx, restoredFinished, terminal }, i) => {
        const ended = this.ended[i] === true;
        // It ended its input while an operator of the chain still flushes (a checkpoint a task takes meanwhile): its
        // output is downstream, so it keeps no state, and a restore at any parallelism does not emit it again. One that
        // emits nothing (a sink) keeps its state: its writes since the last checkpoint are in it.
        if (ended && terminal !== true) return Promise.resolve({ id, snapshot: FINISHED });
        return new Promise<OperatorSnapshot>((resolve) => resolve(snapshotOperator(ctx, operator, checkpointId))).then(
          // Restored finished, it stays so in every checkpoint (a task restored finished may take a barrier before it
          // ends its input again): a restore from one must not run its end of input a second time.
          (snapshot): ChainSnapshot[number] => ({ id, snapshot: (restoredFinished === true && !this.resumed) || ended ? { ...snapshot, finished: true as const } : snapshot }),
          (error: unknown) => {
            throw OperatorError.wrap(error, ctx.description);
          },
        );
      }),
    );
  }

  /**
   * The snapshot at the end of input: every operator finished. As in a checkpoint taken while the chain flushes,
   * those that emit keep no state: the checkpoints that hold this snapshot hold what they emitted downstream, so a
   * restore at any parallelism before this task commits does not emit it again. Sinks keep theirs (their last
   * writes); without stored snapshots (no checkpointing), only their own state.
   */
  async finalSnapshot(driver: ChainDriver, checkpointId: number, withKeyedState: boolean): Promise<ChainSnapshot> {
    return Promise.all(
      this.operators.map(async ({ id, operator, ctx, terminal }) =>
        terminal !== true
          ? { id, snapshot: FINISHED }
          : {
              id,
              snapshot: { ...((await driver.step('the final checkpoint', ctx.description, () => snapshotOperator(ctx, operator, checkpointId, withKeyedState))) ?? {}), finished: true },
            },
      ),
    );
  }

  /** Checkpoint `checkpointId` is durable: each operator commits what it covers; a failure fails the job. */
  notifyCheckpointComplete(driver: ChainDriver, checkpointId: number): void {
    for (const { operator, ctx } of this.operators) {
      driver.settleAsync(ctx.description, () => operator.notifyCheckpointComplete?.(checkpointId));
    }
  }

  /** The final checkpoint is stored: each operator commits what is left, in order, before the task closes. */
  async notifyFinalCheckpoint(driver: ChainDriver, checkpointId: number): Promise<void> {
    for (const { operator, ctx } of this.operators) {
      await driver.step(`notifyCheckpointComplete() of ${ctx.description}`, ctx.description, () =>
        operator.notifyCheckpointComplete?.(checkpointId),
      );
    }
  }

  /** Cancels the operators' timers and closes them, head first. */
  async close(driver: ChainDriver): Promise<void> {
    for (const { operator, ctx } of this.operators) {
      ctx.processingTimeService.dispose();
      ctx.keyed?.timers.dispose();
      await driver.close(ctx.description, () => operator.close?.());
    }
  }
}
