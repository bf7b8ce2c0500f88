import type { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';

/**
 * What a task reads its records from (Flink's `InputGate`): the chunks of
 * every upstream subtask, with barriers already aligned. A gate in the same
 * heap or one fed from another thread look the same to the task.
 */
export interface InputGate<T> {
  /**
   * The next chunk, an aligned barrier, `null` once every producer has ended
   * and everything was read, or `undefined` when there is nothing to read yet.
   */
  poll(): T[] | CheckpointBarrier | null | undefined;
  /** Resolves when `poll` may have something new to return. */
  readable(): Promise<void>;
  /** How long (ms) the last barrier `poll` returned waited for the other producers' (0 before any). */
  readonly alignmentMs: number;
}
