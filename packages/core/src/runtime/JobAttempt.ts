import type { EventLog } from '../logging/EventLog.js';
import { CheckpointCoordinator, type TaskPlacement } from './checkpoint/CheckpointCoordinator.js';
import type { StoredCheckpoint } from './checkpoint/CheckpointStorage.js';
import { awaitClose, type AbandonedWork } from './awaitClose.js';
import { operatorIds } from './checkpoint/operatorIds.js';
import { assignRestoredState, type SubtaskRestore } from './checkpoint/restoreAssignment.js';
import type { Deployment } from './Deployment.js';
import type { UnfinishedClose } from './errors.js';
import type { JobGraph, StreamNode } from './JobGraph.js';
import type { OperatorStats, RunnerOptions } from './JobRunner.js';
import type { TaskStatus } from './JobWatchdog.js';
import { LocalDeployment } from './LocalDeployment.js';
import { OperatorCounters, taskIdentity, type SubtaskBuilderOptions } from './SubtaskBuilder.js';
import { taskKey, type TaskId, type TaskReport } from './TaskGateway.js';

/** How an attempt ended. */
export interface AttemptOutcome {
  /** What failed the attempt, with the operator and the task (a subtask of it) when known. */
  readonly failure: { error: unknown; operator: string | undefined; task: { name: string; subtask: number } | undefined } | undefined;
  readonly cancelled: boolean;
  readonly operators: OperatorStats[];
  readonly latestCheckpoint: StoredCheckpoint | undefined;
}

/** What a deployment is built from: the graph, its operator ids, and the options of every subtask. */
export interface DeploymentPlan {
  readonly graph: JobGraph;
  readonly ids: ReadonlyMap<StreamNode, string>;
  readonly options: SubtaskBuilderOptions;
  readonly runner: RunnerOptions;
  /** Each restored operator's state per subtask, by operator id. */
  readonly restored: Map<string, SubtaskRestore[]> | undefined;
}

/** Deploys an attempt's tasks somewhere; their reports go to `reports`. */
export type Deployer = (plan: DeploymentPlan, reports: (report: TaskReport) => void) => Deployment;

/** What an attempt shares with the job that runs it. */
export interface AttemptContext {
  /** The job's closes given up on, kept across attempts. */
  readonly unfinishedCloses: UnfinishedClose[];
  /** What the job gave up waiting for and may still write (those closes, a checkpoint store): its directory locks wait for them. */
  readonly abandoned: AbandonedWork[];
  /** The job's events. */
  readonly log: EventLog;
  /** Where the tasks run. */
  readonly deploy: Deployer;
}

/** The single-thread runtime: every subtask in this heap. */
export const deployLocally: Deployer = (plan, reports) =>
  new LocalDeployment(plan.graph, plan.ids, { ...plan.options, channelCapacity: plan.runner.channelCapacity }, reports);

/**
 * One attempt at running the job (Flink's JobMaster over one execution):
 * assigns restored state to subtasks, deploys the tasks (in this heap or in
 * slots), runs the checkpoint coordinator over them, and reports the
 * attempt's outcome once every task has ended. The tasks are reached through
 * the deployment (a `TaskGateway`); every task reports back through `receive`.
 */
export class JobAttempt {
  /** Settles once every task has ended and no checkpoint is being stored (once cancelled, within `closeTimeoutMs`). */
  readonly done: Promise<AttemptOutcome>;
  private readonly names = new Map<string, string>();
  /** Where each task runs, and whether it reads a source. */
  private readonly placements: TaskPlacement[] = [];
  private readonly counters: OperatorCounters;
  private readonly deployment: Deployment;
  private readonly coordinator: CheckpointCoordinator;
  private readonly log: EventLog;
  private readonly unfinishedCloses: UnfinishedClose[];
  private readonly abandoned: AbandonedWork[];
  private failure: AttemptOutcome['failure'];
  private cancelled = false;
  private stopped = false;
  /** Aborted by cancel(), even after a failure: it bounds the wait for the checkpoint storage. */
  private readonly cancelling = new AbortController();

  constructor(
    private readonly graph: JobGraph,
    private readonly options: RunnerOptions,
    restore: StoredCheckpoint | undefined,
    /** 0 for the first attempt, +1 per restart. */
    attempt: number,
    job: AttemptContext,
  ) {
    const { log, deploy } = job;
    this.log = log;
    this.unfinishedCloses = job.unfinishedCloses;
    this.abandoned = job.abandoned;
    const ids = operatorIds(graph.nodes);
    const restored =
      restore === undefined
        ? undefined
        : assignRestoredState(
            restore,
            graph.nodes.map((n) => ({
              id: ids.get(n) as string,
              name: n.transformation.name,
              parallelism: n.parallelism,
              rescalableSource: n.transformation.kind === 'source' && n.transformation.source.rescalable === true,
            })),
          );
    const { jobName, jobId, clock, registry, checkpointing } = options;
    this.counters = new OperatorCounters(graph.nodes, options);

    const placements = this.placements;
    for (const chain of graph.chains) {
      for (let subtask = 0; subtask < chain.parallelism; subtask++) {
        const { id, name } = taskIdentity(chain, subtask, attempt, ids);
        this.names.set(taskKey(id), name);
        placements.push({
          id,
          parallelism: chain.parallelism,
          isSource: chain.head.transformation.kind === 'source',
          names: new Map(chain.nodes.map((n) => [ids.get(n) as string, n.transformation.name])),
        });
      }
    }

    const subtaskOptions: SubtaskBuilderOptions = {
      jobName,
      jobId,
      clock,
      registry,
      chunkSize: options.chunkSize,
      closeTimeoutMs: options.closeTimeoutMs,
      attempt,
      log,
      restored,
      restoredFrom: restore === undefined ? undefined : `${restore.checkpoint.checkpointId} (${restore.location})`,
      storesSnapshots: checkpointing !== undefined,
    };
    this.deployment = deploy({ graph, ids, options: subtaskOptions, runner: options, restored }, (report) => this.receive(report));
    this.coordinator = new CheckpointCoordinator({
      jobName,
      clock,
      intervalMs: checkpointing?.intervalMs ?? 0,
      storage: checkpointing?.storage,
      tasks: placements,
      gateway: this.deployment,
      lastCheckpointId: restore?.checkpoint.checkpointId ?? 0,
      // Without checkpointing there is nothing to count: no metric rather than zeros.
      metrics:
        checkpointing === undefined ? undefined : registry.scopedGroup(['job', jobName, 'checkpoints'], { job: jobName, job_id: jobId }),
      log,
      fail: (error) => this.fail(error, undefined),
    });

    this.coordinator.start();
    this.deployment.deploy();
    this.done = this.deployment.ended.then(async () => {
      this.coordinator.stop();
      await this.storageSettled();
      this.abandoned.push(...this.deployment.abandonedWork());
      return this.outcome();
    });
  }

  /** Every source task reads no more (see `JobClient.drain`): the attempt finishes what they read. */
  drain(): void {
    if (this.stopped) return;
    for (const task of this.placements) if (task.isSource) this.deployment.send(task.id, { kind: 'drain' });
  }

  /** Stops every task; the attempt ends `cancelled`. */
  cancel(): void {
    this.cancelling.abort();
    if (this.stopped) return;
    this.cancelled = true;
    this.stop(new Error('job cancelled'));
  }

  /** Records in and out of every operator so far: grows while the attempt makes progress. */
  progress(): number {
    return this.graph.nodes.reduce((n, node) => n + this.counters.total(node, 'numRecordsIn') + this.counters.total(node, 'numRecordsOut'), 0);
  }

  taskStatuses(): TaskStatus[] {
    return this.deployment.taskStatuses();
  }

  /** The checkpoint storage call that has not settled, if any (see `CheckpointCoordinator.storageCall`). */
  storageCall(): string | undefined {
    return this.coordinator.storageCall;
  }

  /** What the tasks report: checkpoint messages go on to the coordinator. */
  private receive(report: TaskReport): void {
    switch (report.kind) {
      case 'failed':
        return this.fail(report.error, report.operator, report.task);
      case 'closeUnfinished': {
        const { operator } = report;
        const task = this.nameOf(report.task);
        const { closeTimeoutMs } = this.options;
        this.unfinishedCloses.push({ operator, task });
        this.log.event('warn', 'operator.closeTimedOut', `close() of ${operator} in task '${task}' did not finish within ${closeTimeoutMs} ms; the job went on without it`, {
          operator,
          task,
          closeTimeoutMs,
        });
        return;
      }
      case 'finished':
        // Deployments count their tasks' ends themselves (see `Deployment.ended`).
        return;
      default:
        this.coordinator.receive(report);
    }
  }

  private nameOf(task: TaskId): string {
    return this.names.get(taskKey(task)) ?? taskKey(task);
  }

  private fail(error: unknown, operator: string | undefined, task?: TaskId): void {
    if (this.stopped) return;
    this.failure = { error, operator, task: task === undefined ? undefined : { name: this.nameOf(task), subtask: task.subtask } };
    this.stop(error);
  }

  private stop(reason: unknown): void {
    this.stopped = true;
    this.deployment.stop(reason);
  }

  /**
   * Waits for the checkpoint storage as for a close: however long it takes, then at most `closeTimeoutMs` once the
   * job is cancelled (a store that never settles must not hold up the cancel). No restart follows a cancel, so
   * nothing needs what the abandoned call would have returned.
   */
  private async storageSettled(): Promise<void> {
    const { clock, closeTimeoutMs } = this.options;
    if (await awaitClose(this.coordinator.settled(), { signal: this.cancelling.signal, clock, closeTimeoutMs })) return;
    const call = this.coordinator.storageCall ?? 'a call';
    this.abandoned.push({ what: `${call} of the checkpoint storage`, settled: this.coordinator.settled() });
    this.log.event('warn', 'checkpoint.abandoned', `${call} of the checkpoint storage did not settle within ${closeTimeoutMs} ms of the cancel; the job ended without it`, {
      call,
      closeTimeoutMs,
    });
  }

  private outcome(): AttemptOutcome {
    return {
      failure: this.failure,
      cancelled: this.cancelled,
      latestCheckpoint: this.coordinator.latest,
      operators: this.graph.nodes.map((node) => ({
        name: node.transformation.name,
        uid: node.transformation.uid,
        parallelism: node.parallelism,
        recordsIn: this.counters.total(node, 'numRecordsIn'),
        recordsOut: this.counters.total(node, 'numRecordsOut'),
      })),
    };
  }
}
