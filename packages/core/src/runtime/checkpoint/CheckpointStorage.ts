import type { OperatorSnapshot } from '../../operators/StreamOperator.js';
import type { ExclusiveDirectory } from '../DirectoryLock.js';

/**
 * Everything a checkpoint holds: operator snapshots and source positions, by
 * operator id. Version 2 added operators' list state; version 1 checkpoints
 * (without it) still load.
 */
export interface CompletedCheckpoint {
  readonly version: 1 | 2;
  readonly jobName: string;
  readonly checkpointId: number;
  /** Processing time (environment clock) when the checkpoint completed. */
  readonly timestamp: number;
  /** Taken when the job finished its input: restoring it only commits what was left to commit. */
  readonly final: boolean;
  readonly operators: Record<string, { readonly name: string; readonly parallelism: number; readonly subtasks: OperatorSnapshot[] }>;
  readonly sources: Record<string, { readonly name: string; readonly parallelism: number; readonly positions: unknown[] }>;
}

/** A checkpoint found in storage, with where it came from (for messages). */
export interface StoredCheckpoint {
  readonly location: string;
  readonly checkpoint: CompletedCheckpoint;
}

/**
 * Where checkpoints are persisted. `store` must be atomic: after a crash or a
 * failed write a checkpoint is either wholly there or not there, and a load
 * never returns a damaged one.
 */
export interface CheckpointStorage {
  /** Persists a checkpoint; resolves with its location and size once durable, rejects when any of it could not be written. */
  store(checkpoint: CompletedCheckpoint): Promise<{ location: string; bytes: number }>;
  /**
   * The highest checkpoint id held here, damaged checkpoints included (0 when
   * none): a run numbers its checkpoints after it, so ids keep increasing
   * across runs and `loadLatest` finds the newest run's checkpoints.
   */
  highestCheckpointId(): Promise<number>;
  /**
   * The newest checkpoint that reads back intact (skipping damaged newer ones
   * with a warning); undefined when there is no checkpoint at all. Rejects,
   * saying what is wrong with each, when every checkpoint is damaged.
   */
  loadLatest(): Promise<StoredCheckpoint | undefined>;
  /** The checkpoint at `location`; rejects with a message naming it when it is unreadable. */
  load(location: string): Promise<StoredCheckpoint>;
  /**
   * The directory this storage writes by itself, if any: a job locks it for
   * its run before it loads or stores a checkpoint, so a second job using it
   * at the same time fails to start. A storage that wraps another forwards it.
   */
  exclusiveDirectory?(): ExclusiveDirectory;
}
