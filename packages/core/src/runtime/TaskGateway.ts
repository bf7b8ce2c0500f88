import type { OperatorSnapshot } from '../operators/StreamOperator.js';

/**
 * The checkpoint id operators see for the final snapshot at the end of input,
 * and then in `notifyCheckpointComplete`: later than any periodic checkpoint,
 * so a sink commits everything it still holds.
 */
export const FINAL_CHECKPOINT = Number.MAX_SAFE_INTEGER;

/** What one subtask contributes to a checkpoint. */
export interface TaskSnapshot {
  readonly operators: readonly { readonly id: string; readonly snapshot: OperatorSnapshot }[];
  readonly source?: { readonly id: string; readonly position: unknown };
}

/**
 * Which task: one subtask of one vertex (a chain, named by its head
 * operator's checkpoint id) in one attempt of the job (Flink's
 * `ExecutionAttemptID`).
 */
export interface TaskId {
  readonly vertexId: string;
  readonly subtask: number;
  /** 0 for the first run, +1 per restart. */
  readonly attempt: number;
}

/** A string naming `id`, for maps and messages. */
export function taskKey(id: TaskId): string {
  return `${id.vertexId}[${id.subtask}]#${id.attempt}`;
}

/**
 * What the coordinator and the runner send to a task (Flink's
 * `TaskExecutorGateway`). Plain data, so it can cross a thread: errors travel
 * as `Error`s, which structured cloning keeps (message, name, stack, cause).
 */
export type TaskCommand =
  /** A source task injects the barrier of `checkpointId` at its next opportunity. */
  | { readonly kind: 'triggerCheckpoint'; readonly checkpointId: number }
  /** `checkpointId` is stored: operators commit, sources ack their brokers. `FINAL_CHECKPOINT` for the final one. */
  | { readonly kind: 'notifyCheckpointComplete'; readonly checkpointId: number }
  /** Stop now: the job was cancelled or another task failed (`reason`). */
  | { readonly kind: 'cancel'; readonly reason: unknown }
  /** A source task reads no more: its input ends after the read in progress, and the job finishes what it read (`JobClient.drain`). */
  | { readonly kind: 'drain' };

/**
 * What a task reports (Flink's `CheckpointCoordinatorGateway` and
 * `updateTaskExecutionState`). Plain data, like {@link TaskCommand}.
 */
export type TaskReport =
  /** `alignmentMs`: how long the task's input waited for the barrier on all its producers (0 for a source). */
  | { readonly kind: 'acknowledgeCheckpoint'; readonly task: TaskId; readonly checkpointId: number; readonly snapshot: TaskSnapshot; readonly alignmentMs: number }
  /** The task cannot take part in `checkpointId` (a remote task that no longer runs): the checkpoint is aborted. */
  | { readonly kind: 'declineCheckpoint'; readonly task: TaskId; readonly checkpointId: number; readonly reason: string }
  /** The task reached the end of its input: no barrier can pass it any more. */
  | { readonly kind: 'inputEnded'; readonly task: TaskId }
  /** The task flushed everything: its part of the final checkpoint. */
  | { readonly kind: 'finalSnapshot'; readonly task: TaskId; readonly snapshot: TaskSnapshot }
  /** The task committed what its final snapshot left (told that a checkpoint holding it was stored): nothing of its state is needed any more. */
  | { readonly kind: 'finalCommitted'; readonly task: TaskId }
  /** An operator of the task failed: the attempt stops. */
  | { readonly kind: 'failed'; readonly task: TaskId; readonly error: unknown; readonly operator: string | undefined }
  /** The job stopped, and a `close()` of `operator` did not settle within `closeTimeoutMs`. */
  | { readonly kind: 'closeUnfinished'; readonly task: TaskId; readonly operator: string }
  /** The task ended: its operators and reader closed (or were given up on). */
  | { readonly kind: 'finished'; readonly task: TaskId };

/** How the coordinator and the runner reach tasks, wherever they run. */
export interface TaskGateway {
  send(to: TaskId, command: TaskCommand): void;
}

/** How a task reaches the checkpoint coordinator and the runner. */
export interface TaskReports {
  report(message: TaskReport): void;
  /** Whether snapshots are stored (checkpointing is on); without it the final snapshot skips keyed state. */
  readonly storesSnapshots: boolean;
}
