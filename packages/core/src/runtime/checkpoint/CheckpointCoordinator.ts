import type { EventLog } from '../../logging/EventLog.js';
import type { MetricGroup } from '../../metrics/MetricRegistry.js';
import type { Clock } from '../Clock.js';
import { messageOf } from '../errors.js';
import type { CheckpointParticipant, Task, TaskSnapshot } from '../Task.js';
import type { CheckpointStorage, CompletedCheckpoint } from './CheckpointStorage.js';

/** Where each task's snapshot goes in a checkpoint. */
export interface TaskPlacement {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** Operator names by id, for the checkpoint's index. */
  readonly names: ReadonlyMap<string, string>;
}

export interface CoordinatorOptions {
  readonly jobName: string;
  readonly clock: Clock;
  /** 0: no periodic checkpoints, only the final one that commits sinks at the end. */
  readonly intervalMs: number;
  readonly storage: CheckpointStorage | undefined;
  readonly tasks: ReadonlyMap<Task, TaskPlacement>;
  readonly sourceTasks: readonly Task[];
  /** The restored checkpoint's id: ids continue after it, or after the highest id in the storage if that is higher. */
  readonly lastCheckpointId: number;
  readonly metrics: MetricGroup;
  /** Told of every checkpoint stored or failed. */
  readonly log: EventLog;
  readonly fail: (error: unknown) => void;
}

interface Pending {
  readonly id: number;
  readonly startedAt: number;
  readonly final: boolean;
  readonly acks: Map<Task, TaskSnapshot>;
}

/**
 * Runs checkpoints: every `intervalMs` it asks the source tasks to inject a
 * barrier, collects every task's snapshot, stores the checkpoint atomically,
 * then tells every task it is complete (sources ack their broker, sinks
 * commit). One checkpoint at a time; a slow one delays the next.
 *
 * Periodic checkpoints stop once any task reaches the end of its input
 * (barriers can no longer flow through it). Then every task contributes a
 * final snapshot once it has flushed everything, and the final checkpoint is
 * stored before the sinks commit their last transactions: a crash between
 * the two is repaired by restoring it.
 */
export class CheckpointCoordinator implements CheckpointParticipant {
  private pending: Pending | undefined;
  private cancelTimer: (() => void) | undefined;
  private anyInputEnded = false;
  private stopped = false;
  private lastId: number;
  /** Settles once `lastId` is past every id in the storage; no checkpoint starts before. */
  private idsKnown: Promise<void> = Promise.resolve();
  private readonly finalAcks = new Map<Task, TaskSnapshot>();
  private readonly finalWaiters: ((stored: boolean) => void)[] = [];
  /** The latest checkpoint this run completed (kept for in-process restarts). */
  latest: { location: string; checkpoint: CompletedCheckpoint } | undefined;
  /** The last checkpoint completion started; it never rejects. */
  private completing: Promise<void> = Promise.resolve();

  private readonly completed;
  private readonly durationMs;
  private readonly sizeBytes;

  constructor(private readonly options: CoordinatorOptions) {
    this.lastId = options.lastCheckpointId;
    this.completed = options.metrics.counter('numCompletedCheckpoints');
    this.durationMs = options.metrics.histogram('checkpointDurationMs');
    this.sizeBytes = options.metrics.histogram('checkpointSizeBytes');
  }

  get storesSnapshots(): boolean {
    return this.options.storage !== undefined;
  }

  start(): void {
    const storage = this.options.storage;
    if (storage !== undefined) {
      // An older run may have left higher ids: numbering after them keeps 'latest' and pruning right.
      this.idsKnown = storage.highestCheckpointId().then(
        (highest) => {
          this.lastId = Math.max(this.lastId, highest);
        },
        (error: unknown) => this.options.fail(new Error(`the checkpoint storage of job '${this.options.jobName}' cannot be read: ${messageOf(error)}`, { cause: error })),
      );
    }
    if (this.options.intervalMs > 0) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    for (const resolve of this.finalWaiters.splice(0)) resolve(false);
  }

  /**
   * Settles once no checkpoint is being stored, so `latest` is final: a
   * store that started before a failure may still land, and a restart that
   * did not wait for it would discard what that checkpoint holds (a sink's
   * pre-committed transactions) although a later restore would use it.
   */
  settled(): Promise<void> {
    return this.completing;
  }

  acknowledge(task: Task, checkpointId: number, snapshot: TaskSnapshot): void {
    const pending = this.pending;
    if (pending === undefined || pending.id !== checkpointId || this.stopped) return;
    pending.acks.set(task, snapshot);
    if (pending.acks.size === this.options.tasks.size) this.completing = this.complete(pending);
  }

  inputEnded(): void {
    this.anyInputEnded = true;
    this.cancelTimer?.();
    // A checkpoint whose barriers can no longer pass every task is abandoned.
    if (this.pending !== undefined && !this.pending.final) this.pending = undefined;
  }

  /**
   * A task flushed everything and offers its final snapshot. Resolves true
   * once the final checkpoint is stored (the task then lets its operators
   * commit), false when the job stopped first.
   */
  finishTask(task: Task, snapshot: TaskSnapshot): Promise<boolean> {
    this.finalAcks.set(task, snapshot);
    const done = new Promise<boolean>((resolve) => this.finalWaiters.push(resolve));
    if (this.finalAcks.size === this.options.tasks.size) {
      const startedAt = this.options.clock.now();
      this.completing = this.idsKnown.then(() => {
        if (this.stopped) return;
        const pending: Pending = { id: this.lastId + 1, startedAt, final: true, acks: this.finalAcks };
        this.pending = pending;
        return this.complete(pending);
      });
    }
    return done;
  }

  private schedule(): void {
    if (this.stopped || this.anyInputEnded) return;
    this.cancelTimer = this.options.clock.schedule(this.options.clock.now() + this.options.intervalMs, () => {
      this.cancelTimer = undefined;
      void this.idsKnown.then(() => this.trigger());
    });
  }

  private trigger(): void {
    if (this.stopped || this.anyInputEnded || this.pending !== undefined) return;
    const pending: Pending = { id: ++this.lastId, startedAt: this.options.clock.now(), final: false, acks: new Map() };
    this.pending = pending;
    for (const task of this.options.sourceTasks) task.triggerCheckpoint(pending.id);
  }

  private async complete(pending: Pending): Promise<void> {
    const { storage, log, clock } = this.options;
    const { id: checkpointId, final } = pending;
    try {
      // Without storage (checkpointing off) there is only the final checkpoint, and nothing keeps it.
      if (storage !== undefined) {
        const checkpoint = this.assemble(pending);
        const { location, bytes } = await storage.store(checkpoint);
        this.latest = { location, checkpoint };
        this.sizeBytes.update(bytes);
        const durationMs = clock.now() - pending.startedAt;
        log.event('info', 'checkpoint.completed', `Checkpoint ${checkpointId} stored at ${location} (${bytes} bytes, ${durationMs} ms)`, {
          checkpointId,
          location,
          sizeBytes: bytes,
          durationMs,
          final,
        });
      }
    } catch (error) {
      log.event('warn', 'checkpoint.failed', `Checkpoint ${checkpointId} could not be stored: ${messageOf(error)}`, { checkpointId, cause: messageOf(error), final });
      this.options.fail(new Error(`checkpoint ${checkpointId} of job '${this.options.jobName}' could not be stored: ${messageOf(error)}`, { cause: error }));
      return;
    }
    if (this.stopped || this.pending !== pending) return;
    this.pending = undefined;
    this.lastId = pending.id;
    if (storage !== undefined) {
      this.completed.inc();
      this.durationMs.update(this.options.clock.now() - pending.startedAt);
    }
    if (pending.final) {
      for (const resolve of this.finalWaiters.splice(0)) resolve(true);
      return;
    }
    for (const task of this.options.tasks.keys()) task.notifyCheckpointComplete(pending.id);
    this.schedule();
  }

  private assemble(pending: Pending): CompletedCheckpoint {
    const operators: Record<string, { name: string; parallelism: number; subtasks: TaskSnapshot['operators'][number]['snapshot'][] }> = {};
    const sources: Record<string, { name: string; parallelism: number; positions: unknown[] }> = {};
    for (const [task, snapshot] of pending.acks) {
      const placement = this.options.tasks.get(task);
      if (placement === undefined) continue;
      const { subtaskIndex, parallelism, names } = placement;
      for (const { id, snapshot: s } of snapshot.operators) {
        const entry = (operators[id] ??= { name: names.get(id) ?? id, parallelism, subtasks: [] });
        entry.subtasks[subtaskIndex] = s;
      }
      if (snapshot.source !== undefined) {
        const { id, position } = snapshot.source;
        const entry = (sources[id] ??= { name: names.get(id) ?? id, parallelism, positions: [] });
        entry.positions[subtaskIndex] = position;
      }
    }
    return {
      version: 1,
      jobName: this.options.jobName,
      checkpointId: pending.id,
      timestamp: this.options.clock.now(),
      final: pending.final,
      operators,
      sources,
    };
  }
}
