import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { AbandonedWork } from '../awaitClose.js';
import type { Deployment } from '../Deployment.js';
import { InvalidJobError, messageOf } from '../errors.js';
import type { DeploymentPlan } from '../JobAttempt.js';
import { describeJobGraph } from '../JobGraphView.js';
import type { TaskStatus } from '../JobWatchdog.js';
import { taskIdentity } from '../SubtaskBuilder.js';
import { taskKey, type TaskCommand, type TaskId, type TaskReport } from '../TaskGateway.js';
import type { SubtaskRestore } from '../checkpoint/restoreAssignment.js';
import type { FromSlot, SlotWorkerData, ToSlot } from './hostMessages.js';
import { MetricMirror } from './metricMirror.js';
import { acquireSlotWorker, releaseSlotWorker } from './slotWorkers.js';

/** How a slot loads a `defineJob` job, and where its collected records go. */
export interface SlotJob {
  readonly module: string;
  readonly ordinal: number;
  /** Already structured-cloned: what the main thread built from. */
  readonly args: unknown;
  /** For `executeAndCollect`: the records every slot's collect sink received, in arrival order. */
  readonly collected: unknown[] | undefined;
  /** Each worker's heap limit (MB), when the environment sets `slotHeapMb`. */
  readonly heapMb?: number | undefined;
}

/** How long (ms) past `closeTimeoutMs` a stopped slot may take to end before it is terminated. */
const STOP_GRACE_MS = 1000;

interface SlotState {
  readonly slot: number;
  readonly worker: Worker;
  readonly tasks: Map<string, TaskStatus & { readonly id: TaskId }>;
  /** Each task's operators, `'numbers' -> 'square'`, by task key. */
  readonly operators: Map<string, string>;
  /** The slot sent `done`: its exit is no crash. */
  done: boolean;
  exited: boolean;
  /** What the worker threw outside any task. */
  error: unknown;
  /** This attempt's listeners on the worker, removed when the thread goes back to the pool. */
  readonly listeners: {
    readonly message: (m: FromSlot) => void;
    readonly messageerror: (e: Error) => void;
    readonly error: (e: unknown) => void;
    readonly exit: (code: number) => void;
  };
}

/**
 * The main thread's side of the slots (Flink's JobMaster view of its
 * TaskExecutors, through the `TaskExecutorGateway`): starts one worker per
 * slot for an attempt (a thread of the pool, else a new one), sends task commands to the slot that holds the task,
 * passes the slots' reports, metrics, logs and collected records on, and
 * turns a slot that dies into a failure of the attempt naming the slot and
 * its operators. A stopped slot that does not end within `closeTimeoutMs`
 * (and a grace) is terminated; so is every idle thread of an attempt that was
 * stopped. A thread whose job left something running exits by itself after
 * `done`: only a slot that finished cleanly goes back to the pool.
 */
export class SlotHost implements Deployment {
  readonly ended: Promise<void>;
  private readonly slots: SlotState[] = [];
  private readonly mirror: MetricMirror;
  private stopping = false;
  private cancelTerminate: () => void = () => undefined;
  private allExited: () => void = () => undefined;

  constructor(
    private readonly plan: DeploymentPlan,
    private readonly job: SlotJob,
    private readonly reports: (report: TaskReport) => void,
  ) {
    const { graph, ids, options, runner, restored } = plan;
    this.mirror = new MetricMirror(options.registry);
    this.ended = new Promise<void>((resolve) => (this.allExited = resolve));
    const count = Math.max(...graph.chains.map((c) => c.parallelism));
    const ports = Array.from({ length: count }, () => new Map<number, MessagePort>());
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        const { port1, port2 } = new MessageChannel();
        (ports[i] as Map<number, MessagePort>).set(j, port1);
        (ports[j] as Map<number, MessagePort>).set(i, port2);
      }
    }
    const view = describeJobGraph(graph);
    for (let slot = 0; slot < count; slot++) {
      const slotPorts = ports[slot] as Map<number, MessagePort>;
      const data: SlotWorkerData = {
        module: job.module,
        ordinal: job.ordinal,
        args: job.args,
        collect: job.collected !== undefined,
        slot,
        slots: count,
        attempt: options.attempt,
        view,
        jobName: options.jobName,
        jobId: options.jobId,
        chunkSize: options.chunkSize,
        channelCapacity: runner.channelCapacity,
        closeTimeoutMs: options.closeTimeoutMs,
        storesSnapshots: options.storesSnapshots,
        restored: restored === undefined ? undefined : stateOfSubtask(restored, slot),
        restoredFrom: options.restoredFrom,
        ports: slotPorts,
      };
      const tasks = new Map<string, TaskStatus & { id: TaskId }>();
      const operators = new Map<string, string>();
      for (const chain of graph.chains) {
        if (chain.parallelism <= slot) continue;
        const { id, name } = taskIdentity(chain, slot, options.attempt, ids);
        tasks.set(taskKey(id), { id, task: name, waitingOn: undefined, ended: false });
        operators.set(taskKey(id), chain.nodes.map((n) => n.description).join(' -> '));
      }
      const worker = acquireSlotWorker(job.heapMb);
      const state: SlotState = {
        slot,
        worker,
        tasks,
        operators,
        done: false,
        exited: false,
        error: undefined,
        listeners: {
          message: (message) => {
            // A message this thread fails to take fails the job: thrown in a worker's listener, it would crash the process.
            try {
              this.receive(state, message);
            } catch (error) {
              this.failSlot(state, new Error(`a '${message.kind}' message of slot ${slot} could not be taken: ${messageOf(error)}`, { cause: error }));
            }
          },
          // A message that cannot be read here (a record or state value nested deeper than this thread's stack takes,
          // while the slot's is larger) is gone: collected records or a checkpoint's acknowledgement lost.
          messageerror: (error) => this.failSlot(state, new Error(`a message of slot ${slot} could not be read in the main thread: ${messageOf(error)}`, { cause: error })),
          error: (error) => (state.error = error),
          exit: (code) => this.exited(state, code),
        },
      };
      this.slots.push(state);
      worker.on('message', state.listeners.message);
      worker.on('messageerror', state.listeners.messageerror);
      worker.on('error', state.listeners.error);
      worker.on('exit', state.listeners.exit);
      const run: ToSlot = { kind: 'run', data };
      worker.postMessage(run, [...slotPorts.values()]);
    }
  }

  /** Workers start their tasks once built: nothing to do. */
  deploy(): void {}

  send(to: TaskId, command: TaskCommand): void {
    this.post(this.slots[to.subtask], { kind: 'command', to, command });
  }

  stop(reason: unknown): void {
    // Once every slot exited (a cancel after the job finished) there is nothing to stop, and a terminate timer would only hold the process.
    if (this.stopping || this.slots.every((s) => s.exited)) return;
    this.stopping = true;
    for (const slot of this.slots) this.post(slot, { kind: 'stop', reason }, { kind: 'stop', reason: new Error(messageOf(reason)) });
    const { clock, closeTimeoutMs } = this.plan.options;
    this.cancelTerminate = clock.schedule(clock.now() + closeTimeoutMs + STOP_GRACE_MS, () => this.terminateLate());
  }

  taskStatuses(): TaskStatus[] {
    return this.slots.flatMap((s) => [...s.tasks.values()].map(({ task, waitingOn, ended }) => ({ task, waitingOn, ended })));
  }

  /** None once ended: a stopped slot's thread exits (or is terminated), and the closes it gave up on end with it. */
  abandonedWork(): readonly AbandonedWork[] {
    return [];
  }

  private receive(state: SlotState, message: FromSlot): void {
    switch (message.kind) {
      case 'report':
        return this.reports(message.report);
      case 'status':
        this.mirror.apply(message.metrics, message.at, message.tasks.every((t) => t.ended));
        for (const status of message.tasks) state.tasks.set(taskKey(status.id), status);
        return;
      case 'log':
        return this.log(message);
      case 'collected': {
        // A loop, not push(...values): one action (timers firing, a flatMap) may collect hundreds of thousands at once.
        const collected = this.job.collected;
        if (collected !== undefined) for (const value of message.values) collected.push(value);
        return;
      }
      case 'invalidJob':
        return this.failSlot(state, new InvalidJobError(message.message));
      case 'done':
        // Everything is sent. A thread that is not reusable ends itself (see Slot's end()); in a reusable one nothing
        // of the job runs any more, so a stopping attempt may end it.
        state.done = true;
        if (!message.reusable) return;
        if (this.stopping) {
          void state.worker.terminate();
          return;
        }
        this.release(state);
        return;
    }
  }

  /** A slot that finished cleanly: its thread waits in the pool for the next attempt, as if it had exited. */
  private release(state: SlotState): void {
    const { worker, listeners } = state;
    worker.off('message', listeners.message);
    worker.off('messageerror', listeners.messageerror);
    worker.off('error', listeners.error);
    worker.off('exit', listeners.exit);
    releaseSlotWorker(worker, this.job.heapMb);
    this.exited(state, 0);
  }

  private log({ level, message, fields }: Extract<FromSlot, { kind: 'log' }>): void {
    // The job log's logger is guarded (EventLog): a line it cannot take is lost, never the job.
    this.plan.options.log.logger[level](message, fields);
  }

  /** Fails the job for what went wrong with a slot as a whole: reported on its first task, blaming no operator. */
  private failSlot(state: SlotState, error: Error): void {
    const first = state.tasks.values().next().value as { id: TaskId };
    this.reports({ kind: 'failed', task: first.id, error, operator: undefined });
  }

  private exited(state: SlotState, code: number): void {
    // A thread given up on (see abandonStuck) may still exit later: it was counted then.
    if (state.exited) return;
    state.exited = true;
    if (!state.done && !this.stopping) {
      const cause = state.error === undefined ? `it exited with code ${code}` : messageOf(state.error);
      const held = [...state.tasks.values()].map((t) => t.task).join(', ');
      this.failSlot(state, new Error(`slot ${state.slot} (of ${this.slots.length}) crashed: ${cause}; it held ${held}`, { cause: state.error }));
    }
    for (const status of state.tasks.values()) state.tasks.set(taskKey(status.id), { ...status, waitingOn: undefined, ended: true });
    if (this.slots.every((s) => s.exited)) {
      this.cancelTerminate();
      this.allExited();
    }
  }

  /** Slots still running `closeTimeoutMs` after the stop: their unfinished tasks' closes are given up on, and the thread ends. */
  private terminateLate(): void {
    for (const state of this.slots) {
      if (state.exited || state.done) continue;
      for (const { id, ended, waitingOn } of state.tasks.values()) {
        if (ended) continue;
        // The close it waits on when the slot said so; else the slot stopped answering: any of the task's operators.
        const closing = 'close() of ';
        const operator = waitingOn?.startsWith(closing) === true ? waitingOn.slice(closing.length) : (state.operators.get(taskKey(id)) as string);
        this.reports({ kind: 'closeUnfinished', task: id, operator });
      }
      void state.worker.terminate();
    }
    const { clock } = this.plan.options;
    this.cancelTerminate = clock.schedule(clock.now() + STOP_GRACE_MS, () => this.abandonStuck());
  }

  /**
   * Slots whose thread a `terminate()` did not end: Node ends a worker only once its pending file system calls
   * return, and one may never (an `open()` of a FIFO nobody writes). The job ends without them, and says so.
   */
  private abandonStuck(): void {
    for (const state of this.slots) {
      if (state.exited) continue;
      // It must not keep the process alive on its own; Node may still wait for its call at exit.
      state.worker.unref();
      this.plan.options.log.event(
        'warn',
        'slot.threadStuck',
        `slot ${state.slot} (of ${this.slots.length}) did not end after it was terminated: a call of its thread blocks it (a file read that waits for data, such as a FIFO's open?); the job ended without it, and the process may not exit until that call returns`,
        { slot: state.slot },
      );
      this.exited(state, 1);
    }
  }

  private post(state: SlotState | undefined, message: ToSlot, fallback?: ToSlot): void {
    if (state === undefined || state.exited) return;
    try {
      state.worker.postMessage(message);
    } catch (error) {
      if (fallback === undefined) throw error;
      state.worker.postMessage(fallback);
    }
  }
}

/** Subtask `subtask`'s share of the restored state, by operator id. */
function stateOfSubtask(restored: ReadonlyMap<string, readonly SubtaskRestore[]>, subtask: number): Map<string, SubtaskRestore> {
  const out = new Map<string, SubtaskRestore>();
  for (const [id, subtasks] of restored) {
    const state = subtasks[subtask];
    if (state !== undefined) out.set(id, state);
  }
  return out;
}
