/** Settings every worker of the scale-out test runs with; the test derives its duplicate bound from them. */
export const WORKER_CONFIG = {
  group: 'workers',
  /** Checkpoint interval: how long an entry waits for its ack at most, plus the checkpoint's own duration. */
  checkpointMs: 100,
  /** Entries a worker may hold unacked: what it can leave pending in Redis when it dies. */
  maxUnacked: 2_000,
  /** Records the async operator holds at most: what a checkpoint can carry in operator state. */
  capacity: 256,
  /** Far above checkpointMs: a live worker's entries are acked long before anyone may claim them. */
  minIdleMs: 3_000,
  claimIntervalMs: 500,
} as const;

/** One output entry of the scale-out job. */
export interface WorkerOutput {
  readonly sourceId: string;
  readonly n: number;
  readonly worker: string;
  readonly delivery: string;
}
