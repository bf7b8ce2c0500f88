import type { AbandonedWork } from './awaitClose.js';
import type { Deployment } from './Deployment.js';
import { InputChannel } from './InputChannel.js';
import { inputQueues, type Chain, type JobGraph, type StreamNode } from './JobGraph.js';
import type { TaskStatus } from './JobWatchdog.js';
import { LocalTaskGateway } from './LocalTaskGateway.js';
import { LocalResultPartition } from './ResultPartition.js';
import { SubtaskBuilder, type SubtaskBuilderOptions } from './SubtaskBuilder.js';
import type { Task } from './Task.js';
import type { TaskCommand, TaskId, TaskReport } from './TaskGateway.js';

/**
 * Every subtask of the graph in this heap, wired by {@link InputChannel}s:
 * the single-thread runtime.
 */
export class LocalDeployment implements Deployment {
  readonly ended: Promise<void>;
  private readonly gateway: LocalTaskGateway;
  private readonly tasks: Task[] = [];
  private readonly channelOf = new Map<Chain, InputChannel<unknown>[]>();
  private running = 0;
  private allEnded: () => void = () => undefined;

  constructor(graph: JobGraph, ids: ReadonlyMap<StreamNode, string>, options: SubtaskBuilderOptions & { readonly channelCapacity: number }, reports: (report: TaskReport) => void) {
    this.ended = new Promise<void>((resolve) => (this.allEnded = resolve));
    this.gateway = new LocalTaskGateway((report) => {
      if (report.kind !== 'finished') return reports(report);
      if (--this.running === 0) this.allEnded();
    });
    const chainOfHead = new Map(graph.chains.map((c) => [c.head, c]));
    const queues = inputQueues(graph);
    for (const chain of graph.chains) {
      const producers = queues.producers.get(chain) as number;
      if (producers === 0) continue;
      this.channelOf.set(
        chain,
        Array.from({ length: chain.parallelism }, () => new InputChannel<unknown>(producers, options.channelCapacity)),
      );
    }
    const builder = new SubtaskBuilder(graph, ids, options, {
      input: (chain, subtask) => {
        const channel = (this.channelOf.get(chain) as InputChannel<unknown>[])[subtask] as InputChannel<unknown>;
        return { gate: channel, bufferedRecords: () => channel.bufferedRecords };
      },
      partition: (edge, subtask) =>
        new LocalResultPartition(this.channelOf.get(chainOfHead.get(edge.to) as Chain) as InputChannel<unknown>[], (queues.offset.get(edge) as number) + subtask),
    });
    for (const chain of graph.chains) {
      for (let subtask = 0; subtask < chain.parallelism; subtask++) {
        const { task, control } = builder.build(chain, subtask, reports);
        this.gateway.add(task, control);
        this.tasks.push(task);
      }
    }
  }

  deploy(): void {
    this.running = this.tasks.length;
    for (const task of this.tasks) this.gateway.deploy(task.id);
  }

  send(to: TaskId, command: TaskCommand): void {
    this.gateway.send(to, command);
  }

  stop(reason: unknown): void {
    for (const task of this.tasks) this.gateway.send(task.id, { kind: 'cancel', reason });
    for (const channels of this.channelOf.values()) for (const c of channels) c.release();
  }

  taskStatuses(): TaskStatus[] {
    return this.tasks.map((t) => t.status());
  }

  abandonedWork(): readonly AbandonedWork[] {
    return this.gateway.abandonedWork();
  }
}
