import { messageOf, type JobClient, type JobEvent, type LogFields } from '@tributary/core';
import type { CheckpointView, JobStatusView, JobView, RestartView } from './api.js';

/** Checkpoints the history keeps: enough for a page, bounded for a job that runs for days. */
const CHECKPOINT_HISTORY = 100;
/** Restarts kept: a job that restarts for ever must not grow the view (each keeps its `attempt` number). */
const RESTART_HISTORY = 100;

/**
 * What happened to a job, from its structured events (restarts, checkpoints,
 * a restore) and its result: the state behind `/api/job`. It listens from its
 * construction on, so build it right after `executeAsync()`.
 */
export class JobTracker {
  private readonly restarts: RestartView[] = [];
  private readonly checkpoints: CheckpointView[] = [];
  private readonly checkpointCounts = { completed: 0, failed: 0 };
  private restoredFrom: JobView['restoredFrom'] = null;
  private failure: string | null = null;
  private endedAfterMs: number | undefined;
  private readonly startedAt: number;
  private readonly stopListening: () => void;
  /** Settles once the job has ended and its final state is recorded. */
  readonly ended: Promise<void>;

  constructor(
    private readonly client: JobClient,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    this.stopListening = client.onEvent((event) => this.record(event));
    this.ended = client.result.then(
      (result) => {
        this.endedAfterMs = result.runtimeMs;
        if (result.restoredFrom !== undefined) this.restoredFrom ??= { checkpointId: null, location: result.restoredFrom };
      },
      (error: unknown) => {
        this.endedAfterMs = now() - this.startedAt;
        this.failure = messageOf(error);
      },
    );
  }

  /** The job as `/api/job` serves it. */
  view(): JobView {
    return {
      jobId: this.client.jobId,
      name: this.client.jobName,
      status: this.client.status satisfies JobStatusView,
      runtimeMs: this.endedAfterMs ?? this.now() - this.startedAt,
      graph: this.client.graph(),
      restarts: [...this.restarts],
      checkpoints: [...this.checkpoints],
      checkpointCounts: { ...this.checkpointCounts },
      restoredFrom: this.restoredFrom,
      failure: this.failure,
    };
  }

  /** Stops listening to the job's events. */
  close(): void {
    this.stopListening();
  }

  private record({ fields }: JobEvent): void {
    const time = this.now();
    switch (fields.event) {
      case 'job.restarting':
        this.restarts.push({
          time,
          attempt: numberOr(fields, 'attempt', (this.restarts.at(-1)?.attempt ?? 0) + 1),
          operator: stringOrNull(fields, 'operator'),
          task: stringOrNull(fields, 'task'),
          subtask: numberOrNull(fields, 'subtask'),
          cause: stringOrNull(fields, 'cause') ?? 'unknown',
          delayMs: numberOr(fields, 'delayMs', 0),
          fromCheckpointId: numberOrNull(fields, 'fromCheckpointId'),
        });
        if (this.restarts.length > RESTART_HISTORY) this.restarts.shift();
        break;
      case 'checkpoint.completed':
      case 'checkpoint.failed': {
        const completed = fields.event === 'checkpoint.completed';
        this.checkpointCounts[completed ? 'completed' : 'failed']++;
        this.checkpoints.push({
          checkpointId: numberOr(fields, 'checkpointId', 0),
          time,
          status: completed ? 'completed' : 'failed',
          durationMs: numberOrNull(fields, 'durationMs'),
          alignmentMs: numberOrNull(fields, 'alignmentMs'),
          sizeBytes: numberOrNull(fields, 'sizeBytes'),
          location: stringOrNull(fields, 'location'),
          cause: stringOrNull(fields, 'cause'),
          final: fields.final === true,
        });
        if (this.checkpoints.length > CHECKPOINT_HISTORY) this.checkpoints.shift();
        break;
      }
      case 'job.restored':
        this.restoredFrom = { checkpointId: numberOrNull(fields, 'checkpointId'), location: stringOrNull(fields, 'location') ?? '' };
        break;
    }
  }
}

function numberOrNull(fields: LogFields, name: string): number | null {
  const value = fields[name];
  return typeof value === 'number' ? value : null;
}

function numberOr(fields: LogFields, name: string, fallback: number): number {
  return numberOrNull(fields, name) ?? fallback;
}

function stringOrNull(fields: LogFields, name: string): string | null {
  const value = fields[name];
  return typeof value === 'string' ? value : null;
}
