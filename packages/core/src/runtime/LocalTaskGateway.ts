import { setMaxListeners } from 'node:events';
import type { AbandonedWork } from './awaitClose.js';
import type { Clock } from './Clock.js';
import { abortRaceOf, type AbortRace } from './raceAbort.js';
import type { JobControl, Task } from './Task.js';
import { taskKey, type TaskCommand, type TaskGateway, type TaskId, type TaskReport } from './TaskGateway.js';

/**
 * A task's stop switch and failure path in this heap: what the task sees as
 * its {@link JobControl}. Failures go out as reports; a `cancel` command stops it.
 */
export class LocalTaskControl implements JobControl {
  private readonly controller = new AbortController();
  readonly abortRace: AbortRace = abortRaceOf(this.controller.signal);
  stopped = false;

  constructor(
    readonly id: TaskId,
    readonly clock: Clock,
    readonly closeTimeoutMs: number,
    private readonly reports: (report: TaskReport) => void,
  ) {
    // Every async operator and many user functions (their calls' signals) listen here, so a
    // task can pass Node's default warning threshold of 10 without leaking anything. Task
    // waits add no listener of their own (see raceAbort).
    setMaxListeners(0, this.controller.signal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  fail(error: unknown, operator: string | undefined): void {
    if (this.stopped) return;
    this.reports({ kind: 'failed', task: this.id, error, operator });
  }

  /** The closes this task gave up on: they may still write (see JobRunner's directory locks). */
  readonly abandoned: AbandonedWork[] = [];

  closeUnfinished(operator: string, _task: string, closing: Promise<unknown>): void {
    this.abandoned.push({ what: `close() of ${operator}`, settled: closing });
    this.reports({ kind: 'closeUnfinished', task: this.id, operator });
  }

  stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller.abort(reason);
  }
}

/** The gateway to tasks that run in this heap: commands become calls on the {@link Task}, in the caller's turn. */
export class LocalTaskGateway implements TaskGateway {
  private readonly tasks = new Map<string, { readonly task: Task; readonly control: LocalTaskControl }>();

  constructor(private readonly reports: (report: TaskReport) => void) {}

  /** The closes its tasks gave up on. */
  abandonedWork(): AbandonedWork[] {
    return [...this.tasks.values()].flatMap(({ control }) => control.abandoned);
  }

  add(task: Task, control: LocalTaskControl): void {
    this.tasks.set(taskKey(task.id), { task, control });
  }

  /** Runs the task; it reports `finished` once it has ended. */
  deploy(id: TaskId): void {
    const entry = this.tasks.get(taskKey(id));
    // Task.run settles every failure itself (it reports it) and never rejects.
    void entry?.task.run().then(() => this.reports({ kind: 'finished', task: id }));
  }

  send(to: TaskId, command: TaskCommand): void {
    const entry = this.tasks.get(taskKey(to));
    if (entry === undefined) return;
    const { task, control } = entry;
    switch (command.kind) {
      case 'triggerCheckpoint':
        task.triggerCheckpoint(command.checkpointId);
        return;
      case 'notifyCheckpointComplete':
        task.notifyCheckpointComplete(command.checkpointId);
        return;
      case 'cancel':
        control.stop(command.reason);
        return;
      case 'drain':
        task.drain();
        return;
    }
  }
}
