import type { Collector } from '../api/functions.js';
import type { Counter, MetricRegistry, MetricValue } from '../metrics/MetricRegistry.js';
import { createOperatorContext } from '../operators/StreamOperator.js';
import type { Clock } from './Clock.js';
import { JobExecutionError } from './errors.js';
import { InputChannel } from './InputChannel.js';
import type { Chain, JobGraph, StreamNode } from './JobGraph.js';
import { RecordWriter } from './RecordWriter.js';
import { HeapKeyedStateBackend } from './state/HeapKeyedStateBackend.js';
import { ChainedInput, OperatorOutput, Task, type ChainedOperator, type JobControl } from './Task.js';

/** Records in and out of one operator, summed over its subtasks. */
export interface OperatorStats {
  readonly name: string;
  readonly uid: string | undefined;
  readonly parallelism: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
}

/** How a job ended. `execute()` rejects with a {@link JobExecutionError} instead when it failed. */
export interface JobExecutionResult {
  readonly jobName: string;
  readonly status: 'finished' | 'cancelled';
  /** Processing time from start to end, in ms (by the environment's clock). */
  readonly runtimeMs: number;
  readonly operators: readonly OperatorStats[];
  /** Every metric of the job at its end. */
  readonly metrics: Record<string, MetricValue>;
}

export type JobStatus = 'running' | 'finished' | 'cancelled' | 'failed';

/** A running job: its status, a way to cancel it, and its result. */
export interface JobClient {
  readonly jobName: string;
  readonly status: JobStatus;
  /** Stops the sources, lets operators close, and resolves `result` with status `cancelled`. */
  cancel(): void;
  readonly result: Promise<JobExecutionResult>;
}

export interface RunnerOptions {
  readonly jobName: string;
  readonly clock: Clock;
  readonly registry: MetricRegistry;
  /** Records per chunk between tasks. */
  readonly chunkSize: number;
  /** Chunks a channel holds before its producers wait. */
  readonly channelCapacity: number;
}

class StopSignal implements JobControl {
  private readonly controller = new AbortController();
  readonly aborted: Promise<void>;
  failure: { error: unknown; operator: string | undefined } | undefined;
  cancelled = false;
  onAbort: () => void = () => undefined;

  constructor() {
    this.aborted = new Promise((resolve) => this.controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  fail(error: unknown, operator: string | undefined): void {
    if (this.controller.signal.aborted) return;
    this.failure = { error, operator };
    this.stop(error);
  }

  cancel(): void {
    if (this.controller.signal.aborted) return;
    this.cancelled = true;
    this.stop(new Error('job cancelled'));
  }

  private stop(reason: unknown): void {
    this.controller.abort(reason);
    this.onAbort();
  }
}

interface NodeCounters {
  readonly node: StreamNode;
  readonly recordsIn: Counter[];
  readonly recordsOut: Counter[];
}

/** Instantiates every subtask of a compiled graph and runs them to the end. */
export function runJob(graph: JobGraph, options: RunnerOptions): JobClient {
  const { jobName, clock, registry } = options;
  const stop = new StopSignal();
  const start = clock.now();
  const counters = new Map<StreamNode, NodeCounters>();
  for (const node of graph.nodes) counters.set(node, { node, recordsIn: [], recordsOut: [] });

  const metricGroups = operatorMetricNames(graph.nodes);
  const groupOf = (node: StreamNode, subtask: number) =>
    registry.group('job', jobName, 'operator', metricGroups.get(node) as string, String(subtask));
  const channelOf = new Map<Chain, InputChannel<unknown>[]>();
  for (const chain of graph.chains) {
    const producers = chain.head.inEdges.reduce((n, e) => n + e.from.parallelism, 0);
    if (producers === 0) continue;
    const channels = Array.from({ length: chain.parallelism }, () => new InputChannel<unknown>(producers, options.channelCapacity));
    channelOf.set(chain, channels);
    channels.forEach((channel, subtask) => {
      // Records waiting in front of the chain's head: the backpressure buffer, bounded by capacity.
      groupOf(chain.head, subtask).gauge('inputQueueRecords', () => channel.bufferedRecords);
    });
  }
  const chainOfHead = new Map(graph.chains.map((c) => [c.head, c]));
  stop.onAbort = () => {
    for (const channels of channelOf.values()) for (const c of channels) c.release();
  };

  const tasks: Task[] = [];
  for (const chain of graph.chains) {
    for (let subtask = 0; subtask < chain.parallelism; subtask++) {
      tasks.push(buildTask(chain, subtask));
    }
  }

  function buildTask(chain: Chain, subtaskIndex: number): Task {
    const taskName = `${chain.nodes.map((n) => n.transformation.name).join(' -> ')} (${subtaskIndex + 1}/${chain.parallelism})`;
    const writers: RecordWriter<unknown>[] = [];
    const inputs = new Map<StreamNode, Collector<unknown>>();
    const operators: ChainedOperator[] = [];
    // Built tail first, so every operator's successors exist when its output is wired.
    let task: Task | undefined;
    const hooks = {
      execute: (action: () => void, operator: string) => {
        task?.hooks.execute(action, operator);
      },
      fail: (error: unknown, operator: string) => {
        task?.hooks.fail(error, operator);
      },
      backpressure: (until: Promise<unknown>) => {
        task?.hooks.backpressure(until);
      },
      signal: stop.signal,
    };

    const outputOf = (node: StreamNode): OperatorOutput<unknown> => {
      const main: Collector<unknown>[] = [];
      const side = new Map<string, Collector<unknown>[]>();
      for (const edge of node.outEdges) {
        let target: Collector<unknown>;
        if (edge.chained) {
          target = inputs.get(edge.to) as Collector<unknown>;
        } else {
          const writer = new RecordWriter(
            channelOf.get(chainOfHead.get(edge.to) as Chain) as InputChannel<unknown>[],
            edge.partitioning,
            subtaskIndex,
            options.chunkSize,
            hooks.backpressure,
          );
          writers.push(writer);
          target = writer;
        }
        if (edge.tagId === undefined) main.push(target);
        else side.set(edge.tagId, [...(side.get(edge.tagId) ?? []), target]);
      }
      const recordsOut = groupOf(node, subtaskIndex).counter('numRecordsOut');
      (counters.get(node) as NodeCounters).recordsOut.push(recordsOut);
      return new OperatorOutput(main, side, recordsOut);
    };

    let sourceOutput: Collector<unknown> | undefined;
    for (const node of [...chain.nodes].reverse()) {
      const t = node.transformation;
      const output = outputOf(node);
      if (t.kind === 'source') {
        sourceOutput = output;
        continue;
      }
      const metrics = groupOf(node, subtaskIndex);
      const ctx = createOperatorContext(
        {
          name: t.name,
          uid: t.uid,
          subtaskIndex,
          parallelism: node.parallelism,
          clock,
          metrics,
          output,
          task: hooks,
          keyed: t.keySelector === undefined ? undefined : { selector: t.keySelector, backend: new HeapKeyedStateBackend() },
        },
        (timestamp, key) => operator.onProcessingTime?.(timestamp, key),
      );
      const operator = t.factory(ctx);
      operators.unshift({ operator, ctx });
      const recordsIn = metrics.counter('numRecordsIn');
      (counters.get(node) as NodeCounters).recordsIn.push(recordsIn);
      inputs.set(node, new ChainedInput(operator, recordsIn, node.description));
    }

    const head = chain.head;
    if (head.transformation.kind === 'source') {
      const source = head.transformation.source;
      const reader = source.createReader({ subtaskIndex, parallelism: head.parallelism, signal: stop.signal });
      task = new Task(
        taskName,
        stop,
        { kind: 'source', reader, description: head.description, restoredPosition: undefined },
        sourceOutput as Collector<unknown>,
        operators,
        writers,
      );
    } else {
      const channel = (channelOf.get(chain) as InputChannel<unknown>[])[subtaskIndex] as InputChannel<unknown>;
      // The head's ChainedInput counts its records in, as it does for chained operators.
      task = new Task(taskName, stop, { kind: 'channel', channel }, inputs.get(head) as Collector<unknown>, operators, writers);
    }
    return task;
  }

  let status: JobStatus = 'running';
  const result = Promise.all(tasks.map((t) => t.run())).then((): JobExecutionResult => {
    if (stop.failure !== undefined) {
      status = 'failed';
      throw new JobExecutionError(jobName, stop.failure.operator, unwrapOperatorError(stop.failure.error));
    }
    status = stop.cancelled ? 'cancelled' : 'finished';
    return {
      jobName,
      status,
      runtimeMs: clock.now() - start,
      operators: [...counters.values()].map(({ node, recordsIn, recordsOut }) => ({
        name: node.transformation.name,
        uid: node.transformation.uid,
        parallelism: node.parallelism,
        recordsIn: recordsIn.reduce((n, c) => n + c.count, 0),
        recordsOut: recordsOut.reduce((n, c) => n + c.count, 0),
      })),
      metrics: registry.snapshot(),
    };
  });

  return {
    jobName,
    get status() {
      return status;
    },
    cancel: () => {
      stop.cancel();
    },
    result,
  };
}

/**
 * The name of each operator's metric group: its uid, else its name, with
 * `#2`, `#3` ... when several operators share a name (two `Map`s), so their
 * counters never merge.
 */
function operatorMetricNames(nodes: readonly StreamNode[]): Map<StreamNode, string> {
  const seen = new Map<string, number>();
  const names = new Map<StreamNode, string>();
  for (const node of nodes) {
    const base = node.transformation.uid ?? node.transformation.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    names.set(node, n === 1 ? base : `${base}#${n}`);
  }
  return names;
}

/** The job error names the operator itself; its cause is what the user code threw. */
function unwrapOperatorError(error: unknown): unknown {
  return error instanceof Error && error.name === 'OperatorError' ? (error as Error & { cause: unknown }).cause : error;
}
