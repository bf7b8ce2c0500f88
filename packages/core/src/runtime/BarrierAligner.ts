import type { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';

/**
 * Aligns the barriers of a task's inputs (Flink's `SingleCheckpointBarrierHandler`,
 * aligned): an input that delivered a checkpoint's barrier is blocked, so
 * its later records wait, until every other input delivered the same barrier
 * or ended; then the barrier is released once and every input unblocks.
 * It sees events as the reader takes them from its inputs, in each input's order.
 *
 * Both runtimes trigger one checkpoint at a time and each only after the last
 * completed, so the barriers of two checkpoints never cross. A coordinator that
 * aborts one (its `timeoutMs`, a task's `declineCheckpoint`) lets them cross:
 * a source that had not taken the aborted request yet injects only the next
 * one (Task.triggerCheckpoint keeps the newest). So, as Flink's handler does,
 * a newer barrier abandons the alignment in progress and an older one is
 * dropped: mixing them would release a checkpoint for half its inputs and
 * leave the next waiting for a barrier already taken.
 */
export class BarrierAligner {
  private readonly arrived: boolean[];
  private readonly ended: boolean[];
  private pending: CheckpointBarrier | undefined;
  /** The id of the last barrier released: a barrier at or below it belongs to an abandoned checkpoint. */
  private releasedId = 0;
  /** When the first input delivered the pending barrier (by `now`). */
  private pendingSince = 0;
  /** How long (ms, real time) the last released barrier waited from its first input to its last: Flink's alignment duration. */
  alignmentMs = 0;

  constructor(
    inputs: number,
    /** Real time in ms, for the alignment duration (injected by tests). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.arrived = new Array<boolean>(inputs).fill(false);
    this.ended = new Array<boolean>(inputs).fill(false);
  }

  /** Whether `input` delivered the barrier being aligned: its later records must wait. */
  isBlocked(input: number): boolean {
    return this.arrived[input] === true;
  }

  /** `input` delivered `barrier`. Returns it once every input did (or ended): the checkpoint may proceed. */
  onBarrier(input: number, barrier: CheckpointBarrier): CheckpointBarrier | undefined {
    const pending = this.pending;
    if (barrier.id <= this.releasedId || (pending !== undefined && barrier.id < pending.id)) return undefined;
    if (pending === undefined || barrier.id > pending.id) {
      // The inputs held for an abandoned checkpoint go on: their next barrier is this one's.
      this.arrived.fill(false);
      this.pending = barrier;
      this.pendingSince = this.now();
    }
    this.arrived[input] = true;
    return this.releaseIfAligned();
  }

  /** `input` will deliver nothing more: an alignment no longer waits for it. */
  onEndOfInput(input: number): CheckpointBarrier | undefined {
    this.ended[input] = true;
    return this.releaseIfAligned();
  }

  private releaseIfAligned(): CheckpointBarrier | undefined {
    const barrier = this.pending;
    if (barrier === undefined) return undefined;
    for (let i = 0; i < this.arrived.length; i++) if (this.arrived[i] !== true && this.ended[i] !== true) return undefined;
    this.pending = undefined;
    this.releasedId = barrier.id;
    this.arrived.fill(false);
    this.alignmentMs = this.now() - this.pendingSince;
    return barrier;
  }
}
