import type { AbandonedWork } from './awaitClose.js';
import type { TaskStatus } from './JobWatchdog.js';
import type { TaskGateway } from './TaskGateway.js';

/**
 * Where an attempt's tasks run: in this heap ({@link LocalDeployment}) or in
 * slots on worker threads (`SlotHost`). The attempt reaches the tasks only
 * through it; the tasks' reports go to the callback the attempt gave it.
 */
export interface Deployment extends TaskGateway {
  /** Starts every task. */
  deploy(): void;
  /** Cancels every task with `reason` and wakes whatever waits on a channel. */
  stop(reason: unknown): void;
  /** Resolves once every task has ended and nothing of the attempt runs any more. */
  readonly ended: Promise<void>;
  /** What each task waits on, as last known. */
  taskStatuses(): TaskStatus[];
  /** Once ended: the closes its tasks gave up on, which may still write (see `JobControl.closeUnfinished`). */
  abandonedWork(): readonly AbandonedWork[];
}
