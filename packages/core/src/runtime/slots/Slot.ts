import type { MessagePort } from 'node:worker_threads';
import { DataStream } from '../../api/DataStream.js';
import { registeredJob, type JobBuild } from '../../api/defineJob.js';
import type { Sink } from '../../api/Sink.js';
import { EventLog } from '../../logging/EventLog.js';
import type { LogFields, LogLevel, Logger } from '../../logging/Logger.js';
import { MetricRegistry } from '../../metrics/MetricRegistry.js';
import type { CheckpointBarrier } from '../checkpoint/CheckpointBarrier.js';
import { operatorIds } from '../checkpoint/operatorIds.js';
import type { SubtaskRestore } from '../checkpoint/restoreAssignment.js';
import { SystemClock } from '../Clock.js';
import { messageOf, OperatorError } from '../errors.js';
import { crossableError } from './crossableError.js';
import { InputChannel } from '../InputChannel.js';
import { inputQueues, type Chain, type JobGraph } from '../JobGraph.js';
import { describeJobGraph } from '../JobGraphView.js';
import { LocalTaskGateway } from '../LocalTaskGateway.js';
import type { ResultPartition } from '../ResultPartition.js';
import { SubtaskBuilder } from '../SubtaskBuilder.js';
import type { Task } from '../Task.js';
import { taskKey, type TaskReport } from '../TaskGateway.js';
import { firstDifference } from './graphDifference.js';
import type { FromSlot, SlotWorkerData, ToSlot } from './hostMessages.js';
import { sampleMetrics } from './metricMirror.js';
import { importJobModule, JobStartedInSlotError } from './jobModuleImport.js';
import { leftRunningOnceSettled } from './slotWorkers.js';
import { SlotTransport } from './SlotTransport.js';

/** How often (ms) a slot sends its metrics and task statuses. */
const STATUS_PERIOD_MS = 1000;

/** A job that cannot run in this slot: the main thread fails the job with this message, without restarts. */
class SlotSetupError extends Error {}

/**
 * One task slot in a worker thread (Flink's TaskExecutor with one slot):
 * loads the job's module, builds the graph and checks it against the main
 * thread's, builds subtask `slot` of every chain that has one, and runs them.
 * It talks to the main thread only through plain-data messages: commands in;
 * reports, metrics, statuses, logs and collected records out.
 */
export class Slot {
  private readonly clock = new SystemClock();
  private readonly registry = new MetricRegistry();
  private readonly log: EventLog;
  private readonly gateway: LocalTaskGateway;
  private readonly tasks: Task[] = [];
  private readonly channels: InputChannel<unknown>[] = [];
  private transport: SlotTransport | undefined;
  private running = 0;
  private cancelStatus: () => void = () => undefined;
  private collected: unknown[] = [];
  /** A batch of collected records that could not be sent: the collect sink fails with it. */
  private collectFailure: Error | undefined;
  /** The attempt stopped this slot: closes it gave up on may still have work running (a native batch), so its thread is not reused. */
  private stopped = false;
  /** Commands that arrived while the slot was built (the thread's port is already listened to): handled once its tasks run. */
  private early: ToSlot[] | undefined = [];
  /** The port is the thread's: a later job's slot gets it, so both listeners come off when this one ends. */
  private readonly onMessageError = (error: Error): void => this.messageLost('a message from the main thread', error);

  private readonly onMessage = (message: ToSlot): void => {
    if (this.early === undefined) this.receive(message);
    else this.early.push(message);
  };

  constructor(
    private readonly data: SlotWorkerData,
    private readonly port: MessagePort,
  ) {
    this.log = new EventLog(new ForwardingLogger((m) => this.post(m)), this.clock, { job: data.jobName, jobId: data.jobId });
    this.gateway = new LocalTaskGateway((report) => this.report(report));
  }

  /** Builds and starts the slot's tasks; a job this slot cannot build is reported, not thrown. */
  async start(): Promise<void> {
    let graph: JobGraph;
    this.port.on('message', this.onMessage);
    this.port.on('messageerror', this.onMessageError);
    try {
      graph = await this.buildGraph();
      this.buildTasks(graph);
    } catch (error) {
      this.port.off('message', this.onMessage);
      this.port.off('messageerror', this.onMessageError);
      this.post({ kind: 'invalidJob', message: error instanceof SlotSetupError ? error.message : `slot ${this.data.slot}: ${messageOf(error)}` });
      // A module that failed to load or build stays so in this thread's module cache: the thread is not reused.
      this.end(false);
      return;
    }
    this.scheduleStatus();
    this.running = this.tasks.length;
    for (const task of this.tasks) this.gateway.deploy(task.id);
    const early = this.early ?? [];
    this.early = undefined;
    for (const message of early) this.receive(message);
  }

  private async buildGraph(): Promise<JobGraph> {
    const { module, ordinal, slot, args, collect, jobName } = this.data;
    try {
      await importJobModule(module);
    } catch (error) {
      // Worker threads do not inherit every loader: when that is what failed, say what a TypeScript job module needs.
      const code = (error as { code?: unknown } | undefined)?.code;
      const loaderMissing = code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_MODULE_NOT_FOUND';
      // Any other failure came from the module's top-level code, which runs again in the slot (where `process.argv`
      // holds no arguments of the run): say so, as the message alone (`paths[1]` ...) points nowhere.
      const hint = loaderMissing && /\.[mc]?ts$/.test(module)
        ? '. A TypeScript job module needs a TypeScript loader in every worker thread: run its compiled JavaScript, or register one in each thread (see "TypeScript job modules": https://github.com/tributary-dev/tributary/blob/main/docs/concepts.md#typescript-job-modules)'
        : error instanceof JobStartedInSlotError || loaderMissing
          ? ''
          : '. Every slot imports the job module and runs its top-level code, where the command line, files and settings of one run are not at hand: keep such code in the entry module that starts the job, and pass what the job needs as its args (see "Job modules": https://github.com/tributary-dev/tributary/blob/main/docs/concepts.md#job-modules)';
      throw new SlotSetupError(`Slot ${slot} cannot load the job module ${module}: ${messageOf(error)}${hint}`);
    }
    const job = registeredJob(module, ordinal);
    if (job === undefined) throw new SlotSetupError(`Slot ${slot}: the job module ${module} defines no job #${ordinal + 1} when a slot imports it`);
    let built: JobBuild;
    try {
      built = job.build(args);
    } catch (error) {
      throw new SlotSetupError(`Job '${jobName}': build() threw in slot ${slot}: ${messageOf(error)}`, { cause: error });
    }
    if (collect) (built as DataStream<unknown>).collectInto(this.collectSink());
    const graph = (built instanceof DataStream ? built.env : built).compile(jobName);
    const difference = firstDifference(this.data.view, describeJobGraph(graph));
    if (difference !== undefined) {
      throw new SlotSetupError(
        `Job '${jobName}': slot ${slot} built a different graph than the main thread, first at ${difference.path}: ` +
          `the main thread has ${JSON.stringify(difference.a)}, slot ${slot} has ${JSON.stringify(difference.b)}. ` +
          `build() must build the same graph in every thread (no Math.random(), time or environment in its shape)`,
      );
    }
    return graph;
  }

  private buildTasks(graph: JobGraph): void {
    const { slot, ports, channelCapacity, restored } = this.data;
    const ids = operatorIds(graph.nodes);
    const classLost = (edge: string, className: string): void =>
      this.log.event(
        'warn',
        'slot.classRecords',
        `records from ${edge} are instances of ${className}: they reach the other slot as plain objects, without its methods and getters; ` +
          'send plain data between operators, or build the instance again after the edge',
        { edge, class: className },
      );
    const messageLost = (peer: number, error: Error): void => this.messageLost(`a message from slot ${peer}`, error);
    const transport = new SlotTransport({ slot, ports, capacity: channelCapacity, classLost, messageLost });
    this.transport = transport;
    const chainOfHead = new Map(graph.chains.map((c) => [c.head, c]));
    const queues = inputQueues(graph);
    const channelOf = new Map<Chain, InputChannel<unknown>>();
    for (const chain of graph.chains) {
      const producers = queues.producers.get(chain) as number;
      if (producers === 0 || chain.parallelism <= slot) continue;
      const channel = new InputChannel<unknown>(producers, channelCapacity);
      transport.accept(ids.get(chain.head) as string, slot, channel);
      channelOf.set(chain, channel);
      this.channels.push(channel);
    }
    const builder = new SubtaskBuilder(
      graph,
      ids,
      {
        ...this.data,
        clock: this.clock,
        registry: this.registry,
        log: this.log,
        restored: restored === undefined ? undefined : atSubtask(restored, slot),
      },
      {
        input: (chain) => {
          const channel = channelOf.get(chain) as InputChannel<unknown>;
          return { gate: channel, bufferedRecords: () => channel.bufferedRecords };
        },
        partition: (edge) => {
          const consumer = chainOfHead.get(edge.to) as Chain;
          const consumers = Array.from({ length: consumer.parallelism }, (_, j) => (j === slot ? channelOf.get(consumer) : undefined));
          const name = `${edge.from.description} to ${edge.to.description} (${edge.partitioning.kind})`;
          const partition = transport.partition(ids.get(consumer.head) as string, (queues.offset.get(edge) as number) + slot, consumers, name);
          return new OperatorPartition(partition, edge.from.description);
        },
      },
    );
    for (const chain of graph.chains) {
      if (chain.parallelism <= slot) continue;
      const { task, control } = builder.build(chain, slot, (report) => this.report(report));
      this.gateway.add(task, control);
      this.tasks.push(task);
    }
  }

  private receive(message: ToSlot): void {
    if (message.kind === 'command') return this.gateway.send(message.to, message.command);
    if (message.kind !== 'stop') return;
    this.stopped = true;
    for (const task of this.tasks) this.gateway.send(task.id, { kind: 'cancel', reason: message.reason });
    this.transport?.close();
    for (const channel of this.channels) channel.release();
  }

  /**
   * A message this thread could not read (structured clone's limits: nesting deeper than this thread's stack takes) is
   * gone: records, a barrier or a command lost, so the job fails instead of going on without it.
   */
  private messageLost(from: string, error: Error): void {
    const task = this.tasks[0];
    if (task === undefined) return;
    this.report({ kind: 'failed', task: task.id, error: new Error(`${from} could not be read in slot ${this.data.slot}: ${messageOf(error)}`, { cause: error }), operator: undefined });
  }

  private report(report: TaskReport): void {
    if (report.kind === 'finished') {
      if (--this.running === 0) this.finish();
      return;
    }
    if (report.kind !== 'failed') {
      // A snapshot holding what cannot be cloned (a function in state or in a source's position) fails the job, naming the checkpoint.
      this.post({ kind: 'report', report }, (cloneError) => ({
        kind: 'report',
        report: {
          kind: 'failed',
          task: report.task,
          error: new Error(
            `${report.kind === 'acknowledgeCheckpoint' ? `checkpoint ${report.checkpointId}` : report.kind === 'finalSnapshot' ? 'the final checkpoint' : `its ${report.kind} report`} ` +
              `of task '${this.tasks.find((t) => t.id === report.task)?.name ?? taskKey(report.task)}' cannot cross threads: ${messageOf(cloneError)}; ` +
              'state and source positions must be structured-cloneable',
          ),
          operator: undefined,
        },
      }));
      return;
    }
    // The operator travels beside the error; what crosses is what the user's code threw.
    const error = crossableError(report.error instanceof OperatorError ? report.error.cause : report.error);
    this.post({ kind: 'report', report: { ...report, error } }, () => ({ kind: 'report', report: { ...report, error: new Error(messageOf(error)) } }));
  }

  /** Every task ended: the last statuses and logs, then `done`; the thread's next slot gets the messages after it. */
  private finish(): void {
    this.cancelStatus();
    this.flushCollected();
    this.log.flush();
    this.sendStatus();
    this.transport?.close();
    this.port.off('message', this.onMessage);
    this.port.off('messageerror', this.onMessageError);
    if (this.stopped) this.end(false);
    else void leftRunningOnceSettled(this.clock).then((left) => this.end(left.length === 0));
  }

  /**
   * `done`; a thread that is not reused then exits, ending whatever the user's code left running (timers, sockets).
   * An exit, not a `terminate()` from the main thread: `exit` listeners run first (@tributary/onnx waits there for its
   * native runs).
   */
  private end(reusable: boolean): void {
    this.post({ kind: 'done', reusable });
    if (!reusable) process.exit();
  }

  private scheduleStatus(): void {
    this.cancelStatus = this.clock.schedule(this.clock.now() + STATUS_PERIOD_MS, () => {
      this.sendStatus();
      this.scheduleStatus();
    });
  }

  private sendStatus(): void {
    const tasks = this.tasks.map((t) => ({ id: t.id, ...t.status() }));
    this.post({ kind: 'status', metrics: sampleMetrics(this.registry), at: this.clock.now(), tasks });
  }

  /**
   * The slot's collect sink: its records go to the main thread in the order they arrive, a batch per turn.
   * A batch that cannot cross fails the sink at its next write or its end of input, naming the cause.
   */
  private collectSink(): Sink<unknown> {
    const failed = () => {
      if (this.collectFailure !== undefined) throw this.collectFailure;
    };
    return {
      createWriter: () => ({
        write: (value) => {
          failed();
          if (this.collected.length === 0) queueMicrotask(() => this.flushCollected());
          this.collected.push(value);
        },
        flush: () => {
          this.flushCollected();
          failed();
        },
      }),
    };
  }

  private flushCollected(): void {
    if (this.collected.length === 0) return;
    const values = this.collected;
    this.collected = [];
    try {
      this.port.postMessage({ kind: 'collected', values } satisfies FromSlot);
    } catch (error) {
      this.collectFailure ??= new Error(
        `records collected by executeAndCollect() cannot cross threads: ${messageOf(error)}; collected records must be structured-cloneable (class instances arrive as plain objects)`,
      );
    }
  }

  /** Sends `message`; when it cannot be cloned, sends what `fallback` makes of it and the clone's error instead. */
  private post(message: FromSlot, fallback?: (cloneError: unknown) => FromSlot): void {
    try {
      this.port.postMessage(message);
    } catch (error) {
      if (fallback === undefined) throw error;
      this.port.postMessage(fallback(error));
    }
  }
}

/**
 * A partition whose failures (a record that cannot cross threads) name the
 * operator that emitted the records: a flush outside any operator's call
 * would otherwise fail the task without one.
 */
class OperatorPartition implements ResultPartition<unknown> {
  constructor(
    private readonly partition: ResultPartition<unknown>,
    private readonly operator: string,
  ) {}

  get subpartitions(): number {
    return this.partition.subpartitions;
  }

  emit(target: number, chunk: unknown[]): boolean {
    try {
      return this.partition.emit(target, chunk);
    } catch (error) {
      throw OperatorError.wrap(error, this.operator);
    }
  }

  writable(target: number): Promise<void> {
    return this.partition.writable(target);
  }

  broadcastBarrier(barrier: CheckpointBarrier): void {
    this.partition.broadcastBarrier(barrier);
  }

  finish(): void {
    this.partition.finish();
  }
}

/** `restored` (one subtask's state per operator) where the builder looks: at index `subtask`. */
function atSubtask(restored: ReadonlyMap<string, SubtaskRestore>, subtask: number): Map<string, (SubtaskRestore | undefined)[]> {
  const out = new Map<string, (SubtaskRestore | undefined)[]>();
  for (const [id, state] of restored) {
    const subtasks = new Array<SubtaskRestore | undefined>(subtask + 1);
    subtasks[subtask] = state;
    out.set(id, subtasks);
  }
  return out;
}

/** A logger whose lines go to the main thread's logger (fields that cannot cross become strings). */
class ForwardingLogger implements Logger {
  constructor(private readonly post: (message: FromSlot, fallback: () => FromSlot) => void) {}

  debug(message: string, fields?: LogFields): void {
    this.line('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.line('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.line('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.line('error', message, fields);
  }

  private line(level: LogLevel, message: string, fields: LogFields = {}): void {
    this.post({ kind: 'log', level, message, fields }, () => ({
      kind: 'log',
      level,
      message,
      fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'object' && v !== null ? messageOf(v) : String(v)])),
    }));
  }
}
