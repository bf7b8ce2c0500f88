import { HISTOGRAM_BUCKETS } from '../../metrics/Histogram.js';
import type { EventLog } from '../../logging/EventLog.js';
import type { MetricGroup } from '../../metrics/MetricRegistry.js';
import type { Clock } from '../Clock.js';
import { messageOf } from '../errors.js';
import { FINAL_CHECKPOINT, taskKey, type TaskGateway, type TaskId, type TaskReport, type TaskSnapshot } from '../TaskGateway.js';
import type { CheckpointStorage, CompletedCheckpoint } from './CheckpointStorage.js';

/** A task of the attempt, and where its snapshot goes in a checkpoint. */
export interface TaskPlacement {
  readonly id: TaskId;
  readonly parallelism: number;
  /** Source tasks inject the barriers. */
  readonly isSource: boolean;
  /** Operator names by id, for the checkpoint's index. */
  readonly names: ReadonlyMap<string, string>;
}

export interface CoordinatorOptions {
  readonly jobName: string;
  readonly clock: Clock;
  /** 0: no periodic checkpoints, only the final one that commits sinks at the end. */
  readonly intervalMs: number;
  /**
   * How long a periodic checkpoint may wait for its acknowledgements before it
   * is aborted; none when undefined. Tasks in this heap need none: a task whose
   * snapshot never settles holds its input anyway (the stall warning names it).
   */
  readonly timeoutMs?: number;
  readonly storage: CheckpointStorage | undefined;
  readonly tasks: readonly TaskPlacement[];
  /** How the coordinator reaches the tasks. */
  readonly gateway: TaskGateway;
  /** The restored checkpoint's id: ids continue after it, or after the highest id in the storage if that is higher. */
  readonly lastCheckpointId: number;
  /** Where the checkpoint metrics go; none without checkpointing (no storage). */
  readonly metrics: MetricGroup | undefined;
  /** Told of every checkpoint stored or failed. */
  readonly log: EventLog;
  readonly fail: (error: unknown) => void;
}

interface Pending {
  readonly id: number;
  readonly startedAt: number;
  readonly final: boolean;
  /** Snapshots by task key. */
  readonly acks: Map<string, TaskSnapshot>;
  /** The longest barrier alignment of any task (ms). */
  alignmentMs: number;
  cancelTimeout: (() => void) | undefined;
  /** Every task took part: it is being stored, and no ack or decline changes it. */
  storing?: boolean;
  /** The tasks whose final snapshot it holds (they ended their input before its barrier reached them). */
  readonly finals: Set<string>;
  /** The tasks asked to inject its barrier: each at most once (a task keeps a request until it can take it). */
  readonly triggered: Set<string>;
}

/**
 * Runs checkpoints: every `intervalMs` it asks the source tasks to inject a
 * barrier, collects every task's snapshot, stores the checkpoint atomically,
 * then tells every task it is complete (sources ack their broker, sinks
 * commit). One checkpoint at a time; a slow one delays the next, and one that
 * a task declines or that outlasts `timeoutMs` (when set) is aborted (the next
 * one follows an interval later). It reaches tasks only through the gateway.
 *
 * A task whose input ended (a source subtask with a short split, or every
 * task at the end of a bounded input) takes no more barriers: each task
 * contributes a final snapshot once it has flushed everything, and a periodic
 * checkpoint takes that final snapshot for an ended task (its inputs'
 * barriers align without it: see BarrierAligner). One still flushing is
 * triggered as a source is, and acks with what it holds. Periodic checkpoints go on
 * while any task can inject a barrier (FLIP-147's checkpoints after tasks finished);
 * once every task gave its final snapshot, the final checkpoint is stored
 * before the sinks commit their last transactions: a crash between the two is
 * repaired by restoring it.
 */
export class CheckpointCoordinator {
  private pending: Pending | undefined;
  private cancelTimer: (() => void) | undefined;
  /** Tasks whose input ended: no barrier passes them any more; a checkpoint triggers them while they flush, then takes their final snapshot. */
  private readonly ended = new Set<string>();
  private stopped = false;
  private lastId: number;
  /** Settles once `lastId` is past every id in the storage; no checkpoint starts before. */
  private idsKnown: Promise<void> = Promise.resolve();
  private idsPending = false;
  /** The checkpoint whose `store()` has not settled yet. */
  private storingId: number | undefined;
  private readonly placements: ReadonlyMap<string, TaskPlacement>;
  private readonly finalAcks = new Map<string, TaskSnapshot>();
  /** Tasks told that a checkpoint holding their final snapshot is stored: they commit what is left and end, and are told nothing more. */
  private readonly toldFinal = new Set<string>();
  /** The latest checkpoint this run completed (kept for in-process restarts). */
  latest: { location: string; checkpoint: CompletedCheckpoint } | undefined;
  /** The last checkpoint completion started; it never rejects. */
  private completing: Promise<void> = Promise.resolve();

  private readonly metrics;

  constructor(private readonly options: CoordinatorOptions) {
    this.lastId = options.lastCheckpointId;
    this.placements = new Map(options.tasks.map((t) => [taskKey(t.id), t]));
    const group = options.metrics;
    this.metrics = group && {
      completed: group.counter('numCompletedCheckpoints'),
      durationMs: group.histogram('checkpointDurationMs'),
      alignmentMs: group.histogram('checkpointAlignmentMs'),
      sizeBytes: group.histogram('checkpointSizeBytes', { buckets: HISTOGRAM_BUCKETS.bytes }),
    };
  }

  get storesSnapshots(): boolean {
    return this.options.storage !== undefined;
  }

  start(): void {
    const storage = this.options.storage;
    if (storage !== undefined) {
      // An older run may have left higher ids: numbering after them keeps 'latest' and pruning right.
      this.idsPending = true;
      this.idsKnown = storage
        .highestCheckpointId()
        .then(
          (highest) => {
            this.lastId = Math.max(this.lastId, highest);
          },
          (error: unknown) => this.options.fail(new Error(`the checkpoint storage of job '${this.options.jobName}' cannot be read: ${messageOf(error)}`, { cause: error })),
        )
        .finally(() => {
          this.idsPending = false;
        });
    }
    if (this.options.intervalMs > 0) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.pending?.cancelTimeout?.();
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

  /** The storage call a checkpoint waits on, for messages (`store() of checkpoint 3`); undefined when none. */
  get storageCall(): string | undefined {
    if (this.storingId !== undefined) return `store() of checkpoint ${this.storingId}`;
    return this.idsPending ? 'highestCheckpointId()' : undefined;
  }

  /** Handles what a task reports about checkpoints; reports of tasks outside this attempt are ignored. */
  receive(report: TaskReport): void {
    const key = taskKey(report.task);
    if (!this.placements.has(key)) return;
    switch (report.kind) {
      case 'acknowledgeCheckpoint':
        return this.acknowledge(key, report.checkpointId, report.snapshot, report.alignmentMs);
      case 'declineCheckpoint':
        return this.abort(report.checkpointId);
      case 'inputEnded':
        return this.inputEnded(key);
      case 'finalSnapshot':
        return this.finishTask(key, report.snapshot);
      case 'finalCommitted':
        return this.finalCommitted(key);
      default:
        return;
    }
  }

  private acknowledge(task: string, checkpointId: number, snapshot: TaskSnapshot, alignmentMs: number): void {
    const pending = this.pending;
    if (pending === undefined || pending.id !== checkpointId || pending.storing === true || this.stopped) return;
    pending.acks.set(task, snapshot);
    pending.alignmentMs = Math.max(pending.alignmentMs, alignmentMs);
    this.completeIfCovered(pending);
  }

  /** Stores `pending` once every task acknowledged it, or ended its input and gave its final snapshot. */
  private completeIfCovered(pending: Pending): void {
    if (pending.final || pending.storing) return;
    for (const key of this.placements.keys()) {
      if (pending.acks.has(key)) continue;
      const last = this.ended.has(key) ? this.finalAcks.get(key) : undefined;
      if (last === undefined) return;
    }
    for (const key of this.placements.keys()) {
      if (pending.acks.has(key)) continue;
      pending.acks.set(key, this.finalAcks.get(key) as TaskSnapshot);
      pending.finals.add(key);
    }
    // Every task took part: storing it is bounded by the storage, not by the timeout.
    pending.storing = true;
    pending.cancelTimeout?.();
    this.completing = this.complete(pending);
  }

  /** Gives up on periodic checkpoint `checkpointId` if it is still collecting acknowledgements. */
  private abort(checkpointId: number): void {
    const pending = this.pending;
    if (pending === undefined || pending.id !== checkpointId || pending.final || pending.storing === true) return;
    pending.cancelTimeout?.();
    this.pending = undefined;
    this.schedule();
  }

  private inputEnded(task: string): void {
    this.ended.add(task);
    // Its inputs ended before the pending checkpoint's barrier reached it: no barrier will come, so it injects the
    // barrier itself. A source asked already keeps that request, and takes it while it flushes.
    const pending = this.pending;
    const placement = this.placements.get(task);
    if (pending !== undefined && !pending.final && pending.storing !== true && !pending.acks.has(task) && placement !== undefined && !this.stopped) {
      this.triggerTask(pending, task, placement.id);
    }
    // The schedule stops when a timer finds no task able to inject a barrier, as after the last source's final
    // snapshot (in slots it may come before this report): this task can now, as it flushes.
    if (pending === undefined && this.cancelTimer === undefined && this.options.intervalMs > 0) this.schedule();
  }

  /**
   * Some task can inject a barrier: a source that still reads, or a task whose input ended and that still flushes.
   * Periodic checkpoints go on until none can (then the final checkpoint follows); one in flight still completes with
   * the final snapshots of the tasks that end meanwhile.
   */
  private get canInject(): boolean {
    for (const [key, task] of this.placements) if (this.ended.has(key) ? !this.finalAcks.has(key) : task.isSource) return true;
    return false;
  }

  /** A task flushed everything and offers its final snapshot; once every task did, the final checkpoint is stored. */
  private finishTask(task: string, snapshot: TaskSnapshot): void {
    this.finalAcks.set(task, snapshot);
    const pending = this.pending;
    if (pending !== undefined && !this.stopped) this.completeIfCovered(pending);
    if (this.finalAcks.size !== this.placements.size) return;
    const startedAt = this.options.clock.now();
    // After the checkpoint being stored, if any: the final one is the latest, whichever store would finish first.
    const storing = this.completing;
    this.completing = Promise.all([this.idsKnown, storing]).then(() => {
      if (this.stopped) return;
      const pending: Pending = { id: this.lastId + 1, startedAt, final: true, acks: this.finalAcks, alignmentMs: 0, cancelTimeout: undefined, finals: new Set(), triggered: new Set() };
      this.pending = pending;
      return this.complete(pending);
    });
  }

  /**
   * A task committed what its final snapshot left: later checkpoints hold its
   * operators finished with no state, as Flink's finished subtasks. Restored
   * at another parallelism, an operator that had partly finished then gets
   * only its running subtasks' state, so its end of input does not emit again
   * what the finished ones emitted (a count, a buffer they kept).
   */
  private finalCommitted(task: string): void {
    const last = this.finalAcks.get(task);
    if (last === undefined) return;
    this.finalAcks.set(task, { ...last, operators: last.operators.map(({ id }) => ({ id, snapshot: { finished: true } })) });
  }

  private triggerTask(pending: Pending, key: string, task: TaskId): void {
    if (pending.triggered.has(key)) return;
    pending.triggered.add(key);
    this.options.gateway.send(task, { kind: 'triggerCheckpoint', checkpointId: pending.id });
  }

  private schedule(): void {
    if (this.stopped || !this.canInject) return;
    this.cancelTimer = this.options.clock.schedule(this.options.clock.now() + this.options.intervalMs, () => {
      this.cancelTimer = undefined;
      void this.idsKnown.then(() => this.trigger());
    });
  }

  private trigger(): void {
    if (this.stopped || !this.canInject || this.pending !== undefined) return;
    const { clock, timeoutMs } = this.options;
    const id = ++this.lastId;
    const pending: Pending = { id, startedAt: clock.now(), final: false, acks: new Map(), alignmentMs: 0, cancelTimeout: undefined, finals: new Set(), triggered: new Set() };
    this.pending = pending;
    if (timeoutMs !== undefined) pending.cancelTimeout = clock.schedule(clock.now() + timeoutMs, () => this.abort(id));
    for (const [key, task] of this.placements) {
      // A task whose input ended but which still flushes (an async operator waiting for its last calls) gets no barrier
      // any more, and the tasks after it would wait for its end to align: it injects the barrier itself, as a source
      // does (Flink triggers the running tasks that no running task feeds).
      const ended = this.ended.has(key);
      if (ended ? !this.finalAcks.has(key) : task.isSource) this.triggerTask(pending, key, task.id);
    }
    // Tasks that ended already count with their final snapshots.
    this.completeIfCovered(pending);
  }

  private async complete(pending: Pending): Promise<void> {
    const { storage, log, clock } = this.options;
    const { id: checkpointId, final } = pending;
    try {
      // Without storage (checkpointing off) there is only the final checkpoint, and nothing keeps it.
      if (storage !== undefined) {
        const checkpoint = this.assemble(pending);
        this.storingId = checkpointId;
        const { location, bytes } = await storage.store(checkpoint).finally(() => {
          this.storingId = undefined;
        });
        // A restart resumes from the newest checkpoint stored, never from one whose store finished later.
        if (this.latest === undefined || this.latest.checkpoint.checkpointId < checkpointId) this.latest = { location, checkpoint };
        this.metrics?.sizeBytes.update(bytes);
        const durationMs = clock.now() - pending.startedAt;
        // Alignment is real time, whatever the job's clock: rounded to tenths of a millisecond for the log.
        const alignmentMs = Math.round(pending.alignmentMs * 10) / 10;
        if (!final) this.metrics?.alignmentMs.update(pending.alignmentMs);
        log.event('info', 'checkpoint.completed', `Checkpoint ${checkpointId} stored at ${location} (${bytes} bytes, ${durationMs} ms)`, {
          checkpointId,
          location,
          sizeBytes: bytes,
          durationMs,
          alignmentMs,
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
    if (this.metrics !== undefined) {
      this.metrics.completed.inc();
      this.metrics.durationMs.update(this.options.clock.now() - pending.startedAt);
    }
    // A task whose final snapshot this checkpoint holds commits what is left now (a sink's last transactions), as
    // at the final checkpoint, and ends: its output need not wait for the rest of the job (Flink's FLIP-147).
    for (const [key, task] of this.placements) {
      if (this.toldFinal.has(key)) continue;
      const toldFinal = final || pending.finals.has(key);
      if (toldFinal) this.toldFinal.add(key);
      this.options.gateway.send(task.id, { kind: 'notifyCheckpointComplete', checkpointId: toldFinal ? FINAL_CHECKPOINT : checkpointId });
    }
    if (!pending.final) this.schedule();
  }

  private assemble(pending: Pending): CompletedCheckpoint {
    const operators: Record<string, { name: string; parallelism: number; subtasks: TaskSnapshot['operators'][number]['snapshot'][] }> = {};
    const sources: Record<string, { name: string; parallelism: number; positions: unknown[] }> = {};
    for (const [key, snapshot] of pending.acks) {
      const placement = this.placements.get(key);
      if (placement === undefined) continue;
      const { id: task, parallelism, names } = placement;
      for (const { id, snapshot: s } of snapshot.operators) {
        const entry = (operators[id] ??= { name: names.get(id) ?? id, parallelism, subtasks: [] });
        entry.subtasks[task.subtask] = s;
      }
      if (snapshot.source !== undefined) {
        const { id, position } = snapshot.source;
        const entry = (sources[id] ??= { name: names.get(id) ?? id, parallelism, positions: [] });
        entry.positions[task.subtask] = position;
      }
    }
    return {
      version: 2,
      jobName: this.options.jobName,
      checkpointId: pending.id,
      timestamp: this.options.clock.now(),
      final: pending.final,
      operators,
      sources,
    };
  }
}
