import { randomUUID } from 'node:crypto';
import { guardedLogger, stderrLogger, type Logger } from '../logging/Logger.js';
import { MetricRegistry } from '../metrics/MetricRegistry.js';
import { SystemClock, type Clock } from '../runtime/Clock.js';
import { InvalidJobError } from '../runtime/errors.js';
import { describeValue, OptionChecker } from './OptionChecker.js';
import { MAX_PARALLELISM } from '../runtime/keyGroups.js';
import { compileJobGraph, sinksOf, type JobGraph } from '../runtime/JobGraph.js';
import { describeJobGraph, type JobGraphView } from '../runtime/JobGraphView.js';
import type { CheckpointStorage } from '../runtime/checkpoint/CheckpointStorage.js';
import { FileCheckpointStorage } from '../runtime/checkpoint/FileCheckpointStorage.js';
import { executeJob, type JobClient, type JobExecutionResult, type SlotJob } from '../runtime/JobRunner.js';
import { checkReplayableSources } from '../runtime/replayableSources.js';
import { validateRestartStrategy, type RestartStrategy } from '../runtime/restartStrategies.js';
import { AsyncIterableSource } from '../sources/AsyncIterableSource.js';
import { CollectionSource } from '../sources/CollectionSource.js';
import { SingleOutputStream } from './DataStream.js';
import type { Source } from './Source.js';
import type { PhysicalTransformation, Transformation } from './transformations.js';
import { refuseJobStartInSlot } from '../runtime/slots/jobModuleImport.js';

/** Options of {@link StreamExecutionEnvironment.create}. */
export interface EnvironmentOptions {
  /** Default number of subtasks per operator. Default 1. */
  readonly parallelism?: number;
  /** Processing time for timers and async operators. Default: the system clock. */
  readonly clock?: Clock;
  /** Records per chunk: what a source is asked for per read, and what a chunk between tasks holds. Default 256. */
  readonly chunkSize?: number;
  /** Chunks a channel between tasks holds before the producer waits (backpressure). Default 8. */
  readonly channelCapacity?: number;
  /** Where metrics go; pass one to share it with an exporter. Default: a new registry. */
  readonly metrics?: MetricRegistry;
  /** What to do when the job fails: `RestartStrategies.fixedDelay(3, 1000)` ... Default: none. */
  readonly restartStrategy?: RestartStrategy;
  /**
   * How long (ms, by `clock`) a `close()` of an operator, sink or source may
   * still take once the job is cancelled or has failed. After it the job ends
   * (or restarts) without that close, and reports it in `unfinishedCloses`
   * (result, error and job client). A close at the normal end of a job is
   * awaited however long it takes. Default 30,000 (Flink's task cancellation
   * interval).
   */
  readonly closeTimeoutMs?: number;
  /**
   * How long (ms, real time) a running job may move no record while a task
   * waits on pending work (an `endInput`, a `close`, a backpressuring
   * operator; waiting for input is not a stall) before a `job.stalled` warning
   * to `logger` names what each task waits on. The watchdog checks four
   * times per `stallWarningMs`, so the warning comes within a quarter of it
   * after the stall reaches that length. 0 turns the warning off. Default 60,000.
   */
  readonly stallWarningMs?: number;
  /**
   * Where the job's structured events go (start and end, restores,
   * checkpoints, restarts, throttling, dead letters, close timeouts, stalls):
   * `console`, a winston logger, pino through `fieldsFirst(pino())`, or
   * `silentLogger`. Operators and rich functions reach it as
   * `RuntimeContext.logger`. Default: warnings and errors to stderr, one line
   * each; debug and info dropped.
   */
  readonly logger?: Logger;
  /**
   * Where the subtasks run. `'slots'`: one worker thread per slot, slot i
   * holding subtask i of every operator, so a job with parallelism n uses n
   * cores; the job must be built by `defineJob()` (every slot loads its
   * module, see docs/concepts.md#job-modules) and run on the system clock.
   * `'single-thread'`: every subtask on this thread, for tests on a
   * `ManualClock` and small jobs. Default: `'slots'` when an operator's
   * parallelism is above 1, else `'single-thread'`.
   */
  readonly runtime?: Runtime;
  /**
   * The heap limit (MB) of each slot's worker thread
   * (`resourceLimits.maxOldGenerationSizeMb`). A slot past it fails its
   * attempt naming the slot (the restart strategy applies); the process goes
   * on. Default: Node's.
   */
  readonly slotHeapMb?: number;
}

/** Where a job's subtasks run: see {@link EnvironmentOptions.runtime}. */
export type Runtime = 'slots' | 'single-thread';

/** Options of {@link StreamExecutionEnvironment.fromAsyncIterable}. */
export interface FromAsyncIterableOptions {
  /**
   * The function starts its iterable at the record number it is given (`(from) => generator(from)`): a restart or
   * restore calls it with the number of records the checkpoint covers instead of reading and dropping them.
   * Default false.
   */
  readonly seekable?: boolean;
}

/** Options of {@link StreamExecutionEnvironment.enableCheckpointing}. */
export interface CheckpointingOptions {
  /** Where checkpoints go: a storage, or a directory for a {@link FileCheckpointStorage} (which then logs a damaged checkpoint it skips to the environment's `logger`). */
  readonly storage: CheckpointStorage | string;
}

/** Options of {@link StreamExecutionEnvironment.execute}. */
export interface ExecuteOptions {
  /**
   * Start from a checkpoint in the configured storage: `'latest'` or a
   * location. `'latest'` is the newest intact checkpoint (damaged newer ones
   * are skipped with a warning) and a fresh start when the storage holds no
   * checkpoint at all; when it holds only damaged ones the start fails,
   * naming each, and starting from scratch means running without
   * `restoreFrom`. State that does not fit the job fails the start with an
   * error naming the operator and the checkpoint; it is never dropped silently.
   */
  readonly restoreFrom?: 'latest' | (string & {});
}

/**
 * Where a job is built and run: create sources, chain transformations on the
 * streams they return, add sinks, then `execute()`. A job with parallelism
 * above 1 runs in slots and is built in a job module (`defineJob`), unless
 * it runs on this thread (`runtime: 'single-thread'`, as here).
 *
 * @example
 * ```ts
 * const env = StreamExecutionEnvironment.create({ parallelism: 2, runtime: 'single-thread' });
 * env
 *   .fromElements('a b', 'b c')
 *   .flatMap((line) => line.split(' '))
 *   .keyBy((word) => word)
 *   .map({
 *     open(ctx) { this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0)); },
 *     map(word) { const n = this.count.value()! + 1; this.count.update(n); return `${word}:${n}`; },
 *   } as MapFunction<string, string> & { count: ValueState<number> })
 *   .print();
 * await env.execute('word count');
 * ```
 */
export class StreamExecutionEnvironment {
  readonly parallelism: number;
  readonly clock: Clock;
  readonly metrics: MetricRegistry;
  readonly logger: Logger;
  private readonly chunkSize: number;
  private readonly channelCapacity: number;
  private readonly closeTimeoutMs: number;
  private readonly stallWarningMs: number;
  private readonly runtime: Runtime | undefined;
  private readonly slotHeapMb: number | undefined;
  /** Whether the clock is the system clock (slots keep time by their own). */
  private readonly systemClock: boolean;
  private nextId = 0;
  private generation = 0;
  private transformations: PhysicalTransformation[] = [];
  private readonly uids = new Set<string>();
  private restartStrategy: RestartStrategy;
  private checkpointing: { intervalMs: number; storage: CheckpointStorage } | undefined;

  private constructor(options: EnvironmentOptions) {
    const check = new OptionChecker('StreamExecutionEnvironment.create()');
    check.known(check.object(options), ENVIRONMENT_OPTIONS);
    this.parallelism = check.optionalInteger('parallelism', options.parallelism, 1, 1, MAX_PARALLELISM);
    this.chunkSize = check.optionalInteger('chunkSize', options.chunkSize, 256);
    this.channelCapacity = check.optionalInteger('channelCapacity', options.channelCapacity, 8);
    this.closeTimeoutMs = check.optionalDuration('closeTimeoutMs', options.closeTimeoutMs, 30_000);
    this.stallWarningMs = check.optionalDuration('stallWarningMs', options.stallWarningMs, 60_000, { integer: true });
    this.runtime = check.optionalOneOf('runtime', options.runtime, RUNTIMES);
    this.slotHeapMb = options.slotHeapMb === undefined ? undefined : check.optionalInteger('slotHeapMb', options.slotHeapMb, 0, 16);
    const clock = check.optionalClock('clock', options.clock);
    this.systemClock = clock === undefined || clock instanceof SystemClock;
    // Contradictions known now, not at execute(): the choice of runtime is explicit.
    if (this.runtime === 'slots' && !this.systemClock) {
      check.fail(`option 'clock': a custom clock (ManualClock) needs runtime 'single-thread', since slots keep time by the system clock`);
    }
    if (this.runtime === 'single-thread' && this.slotHeapMb !== undefined) check.fail(`option 'slotHeapMb' applies to runtime 'slots' only`);
    this.clock = clock ?? new SystemClock();
    this.logger = check.optionalLogger('logger', options.logger) ?? stderrLogger;
    // Duck-typed like the clock: a second copy of this package has its own MetricRegistry class.
    this.metrics = check.optionalImplementation<MetricRegistry>('metrics', options.metrics, 'a MetricRegistry', REGISTRY_METHODS) ?? new MetricRegistry();
    // Only undefined means absent: null is a wrong value, as for every other option.
    this.restartStrategy = validateRestartStrategy(options.restartStrategy === undefined ? { kind: 'none' } : options.restartStrategy);
  }

  /**
   * Takes a checkpoint every `intervalMs`: sources inject barriers, every
   * operator snapshots its state as the barrier passes, and the checkpoint is
   * stored atomically before sinks commit and sources ack their brokers.
   * A restarted or restored job resumes from the latest checkpoint, losing no
   * record (and, with a two-phase-commit sink, duplicating none).
   *
   * Checkpoints go on while any source still reads; once every source has
   * ended (a bounded input read into the channels' buffers ahead of a slow
   * operator), the next one is the final checkpoint at the job's end, and an
   * exactly-once sink's output appears then. Under backpressure a barrier
   * waits behind the records buffered before it, so a checkpoint can take
   * far longer than `intervalMs`.
   */
  enableCheckpointing(intervalMs: number, options: CheckpointingOptions): this {
    const check = new OptionChecker('enableCheckpointing()');
    check.duration('intervalMs', intervalMs, { positive: true, infinity: 'to take no checkpoints, do not enable checkpointing' });
    check.known(check.object(options), CHECKPOINTING_OPTIONS);
    // A storage made here tells the job's logger of the damaged checkpoints it skips.
    const onWarning = (message: string): void => guardedLogger(this.logger).warn(message, { event: 'checkpoint.damaged' });
    const storage = typeof options.storage === 'string' ? new FileCheckpointStorage(options.storage, { onWarning }) : options.storage;
    if (storage === undefined) check.fail("option 'storage' must be a directory path or a CheckpointStorage, got undefined");
    check.optionalImplementation('storage', storage, 'a directory path or a CheckpointStorage', STORAGE_METHODS);
    this.checkpointing = { intervalMs, storage };
    return this;
  }

  /** Sets what happens when the job fails: see {@link RestartStrategy}. */
  setRestartStrategy(strategy: RestartStrategy): this {
    const restartStrategy = validateRestartStrategy(strategy);
    checkReplayableSources(this.transformations, { restartStrategy });
    this.restartStrategy = restartStrategy;
    return this;
  }

  static create(options: EnvironmentOptions = {}): StreamExecutionEnvironment {
    return new StreamExecutionEnvironment(options);
  }

  /** A stream of the given values, in order. */
  fromElements<T>(...values: T[]): SingleOutputStream<T> {
    return this.fromSource(new CollectionSource(values), 'Source: Elements');
  }

  /**
   * A stream over an array or any synchronous iterable, also an infinite generator.
   * A generator object can be read only once, so a job with one refuses a restart
   * strategy and `restoreFrom`: pass an array, or `{ [Symbol.iterator]: () => generator() }`.
   */
  fromCollection<T>(values: Iterable<T>): SingleOutputStream<T> {
    if (typeof (values as Partial<Iterable<T>> | null)?.[Symbol.iterator] !== 'function') {
      new OptionChecker('fromCollection()').fail(`needs an array or an iterable, got ${describeValue(values)}`);
    }
    return this.fromSource(new CollectionSource(values), 'Source: Collection');
  }

  /**
   * A stream over an async iterable (async generator, Node readable in object mode, ...).
   *
   * Pass a function that returns the iterable (`() => generator()`) when the job
   * may restart or restore: each new reader calls it and skips what the last
   * checkpoint covers, by reading those records again and dropping them (it
   * is called with 0). With `seekable: true` the function gets their count
   * instead, and its iterable must start there (`(from) => generator(from)`),
   * so a restart reads nothing twice however far the job had read; an
   * iterable that starts elsewhere emits records twice or loses them. The
   * iterable itself can be read only once, so a job with it refuses a restart
   * strategy and `restoreFrom` when it is built.
   *
   * @example
   * ```ts
   * env.fromAsyncIterable(() => pages('https://api.example.com/orders'));
   * env.fromAsyncIterable((from) => ordersSince(from), { seekable: true });
   * ```
   */
  fromAsyncIterable<T>(values: AsyncIterable<T> | ((from: number) => AsyncIterable<T>), options: FromAsyncIterableOptions = {}): SingleOutputStream<T> {
    const check = new OptionChecker('fromAsyncIterable()');
    if (typeof values !== 'function' && typeof (values as Partial<AsyncIterable<T>> | null)?.[Symbol.asyncIterator] !== 'function') {
      check.fail(`needs an AsyncIterable or a function that returns one, got ${describeValue(values)}`);
    }
    check.known(check.object(options), ['seekable']);
    const seekable = check.optionalBoolean('seekable', options.seekable) ?? false;
    if (seekable && typeof values !== 'function') check.fail("option 'seekable' needs a function that returns the iterable from a record number, got the iterable itself");
    return this.fromSource(new AsyncIterableSource(values, seekable), 'Source: AsyncIterable');
  }

  /** A stream read by a source connector. */
  fromSource<T>(source: Source<T>, name: string): SingleOutputStream<T> {
    new OptionChecker('fromSource()').nonEmptyString('name', name);
    if (typeof source?.createReader !== 'function') {
      throw new InvalidJobError(`fromSource('${name}'): the source must have a createReader(ctx) method`);
    }
    const transformation = { kind: 'source', source: source, name, uid: undefined, parallelism: undefined } as const;
    checkReplayableSources([transformation], { restartStrategy: this.restartStrategy });
    return new SingleOutputStream<T>(this, this.add(transformation));
  }

  /** Builds the job from everything added since the last run, runs it, and resolves when it ends. */
  async execute(jobName = 'Tributary job', options: ExecuteOptions = {}): Promise<JobExecutionResult> {
    return this.executeAsync(jobName, options).result;
  }

  /**
   * Starts the job and returns at once with a client to watch or cancel it.
   * Graph errors are thrown here, before anything runs, and so is a
   * `DirectoryInUseError` when a directory the job writes by itself (file
   * checkpoints, a `FileSink`) is another running job's.
   */
  executeAsync(jobName = 'Tributary job', options: ExecuteOptions = {}): JobClient {
    return this.launch(jobName, options, undefined);
  }

  /** @internal Runs the job; `slots` says how a slot loads it (a `defineJob` job), without which it runs on this thread only. */
  launch(jobName: string, options: ExecuteOptions, slots: SlotJob | undefined): JobClient {
    const check = new OptionChecker('execute()');
    check.nonEmptyString('jobName', jobName);
    refuseJobStartInSlot(jobName);
    check.known(check.object(options), EXECUTE_OPTIONS);
    check.optionalString('restoreFrom', options.restoreFrom);
    // The pipeline becomes the job's only once it starts: a start refused here leaves it to be fixed and run again.
    const graph = this.graphOf(jobName);
    if (options.restoreFrom !== undefined && this.checkpointing === undefined) {
      throw new InvalidJobError(`Job '${jobName}': restoreFrom needs enableCheckpointing() (it names the storage to restore from)`);
    }
    checkReplayableSources(
      graph.nodes.map((node) => node.transformation),
      { jobName, restartStrategy: this.restartStrategy, restoreFrom: options.restoreFrom },
    );
    const runtime = this.runtime ?? (Math.max(...graph.chains.map((c) => c.parallelism)) > 1 ? 'slots' : 'single-thread');
    if (runtime === 'slots') checkSlotsPossible(jobName, this.runtime, slots, this.systemClock);
    const client = executeJob(graph, {
      jobName,
      jobId: randomUUID().replaceAll('-', ''),
      clock: this.clock,
      registry: this.metrics,
      chunkSize: this.chunkSize,
      channelCapacity: this.channelCapacity,
      checkpointing: this.checkpointing,
      restartStrategy: this.restartStrategy,
      restoreFrom: options.restoreFrom,
      closeTimeoutMs: this.closeTimeoutMs,
      stallWarningMs: this.stallWarningMs,
      logger: this.logger,
      slots: runtime === 'slots' && slots !== undefined ? { ...slots, heapMb: this.slotHeapMb } : undefined,
    });
    this.startNextJob();
    return client;
  }

  /** @internal Compiles everything added since the last run and starts a new job: what a slot builds, too. */
  compile(jobName: string): JobGraph {
    const graph = this.graphOf(jobName);
    this.startNextJob();
    return graph;
  }

  /** The job graph of everything added since the last run. */
  private graphOf(jobName: string): JobGraph {
    const transformations = this.transformations;
    if (sinksOf(transformations).length === 0) {
      throw new InvalidJobError(`Job '${jobName}' has no sink: add one with sinkTo(), addSink(), print() or executeAndCollect()`);
    }
    return compileJobGraph(transformations, this.parallelism);
  }

  /** What was added so far belongs to the job just started: streams built before it can no longer be used. */
  private startNextJob(): void {
    this.transformations = [];
    this.uids.clear();
    this.generation++;
  }

  /**
   * The job built so far, compiled as `execute()` would run it, without
   * running it: operators, the tasks they are chained into, and the edges
   * between them with their partitioning. Plain data (JSON-serializable).
   * A running job's client has the same view (`JobClient.graph()`).
   *
   * @example
   * ```ts
   * const env = StreamExecutionEnvironment.create({ parallelism: 2 });
   * env.fromElements('a', 'b').keyBy((s) => s).map((s) => s.toUpperCase()).print();
   * for (const v of env.getJobGraph().vertices) console.log(v.name, v.parallelism);
   * // Source: Elements 1
   * // Map -> Sink: Print 2
   * ```
   */
  getJobGraph(): JobGraphView {
    return describeJobGraph(compileJobGraph(this.transformations, this.parallelism));
  }

  /** @internal Registers a node of the logical graph. */
  add<T extends Transformation>(t: DistributiveOmit<T, 'id' | 'generation'>): T {
    const full = { ...t, id: this.nextId++, generation: this.generation } as unknown as T;
    if (full.kind === 'source' || full.kind === 'operator') this.transformations.push(full);
    return full;
  }

  /** @internal Fails fast when a stream from a job that already ran is used again. */
  checkUsable(t: Transformation): void {
    if (t.generation !== this.generation) {
      throw new InvalidJobError(
        `The stream '${t.name}' belongs to a job that already ran; build a new pipeline from the environment's sources`,
      );
    }
  }

  /** @internal Reserves a uid; uids must be unique within a job. */
  claimUid(uid: string, owner: string): void {
    if (typeof uid !== 'string' || uid === '') throw new InvalidJobError(`uid() of '${owner}' must be a non-empty string`);
    if (this.uids.has(uid)) throw new InvalidJobError(`uid '${uid}' is used twice in this job (second time on '${owner}')`);
    this.uids.add(uid);
  }
}

/** What the runtime calls on the registry it is given (`register` when slots mirror their metrics), besides `group`. */
const REGISTRY_METHODS = ['group', 'scopedGroup', 'snapshot', 'remove', 'register'];
/** Every method of {@link CheckpointStorage}: the runtime calls them all. */
const STORAGE_METHODS = ['store', 'highestCheckpointId', 'loadLatest', 'load'];

const ENVIRONMENT_OPTIONS = ['parallelism', 'clock', 'chunkSize', 'channelCapacity', 'metrics', 'restartStrategy', 'closeTimeoutMs', 'stallWarningMs', 'logger', 'runtime', 'slotHeapMb'];
const RUNTIMES = ['slots', 'single-thread'] as const;
const CHECKPOINTING_OPTIONS = ['storage'];
export const EXECUTE_OPTIONS = ['restoreFrom'];

/** Fails a job that is to run in slots but cannot, saying how to fix it. */
function checkSlotsPossible(jobName: string, chosen: Runtime | undefined, slots: SlotJob | undefined, systemClock: boolean): void {
  const why = chosen === 'slots' ? "runtime: 'slots'" : "its parallelism is above 1, so it runs in slots by default";
  if (slots === undefined) {
    throw new InvalidJobError(
      `Job '${jobName}' cannot run in slots (${why}): every slot loads the job's module, so build the job with defineJob() ` +
        `and run it with its execute() (see https://github.com/tributary-dev/tributary/blob/main/docs/concepts.md#job-modules), or pass runtime: 'single-thread' to StreamExecutionEnvironment.create() ` +
        `to run every subtask on this thread`,
    );
  }
  if (!systemClock) {
    throw new InvalidJobError(
      `Job '${jobName}' cannot run in slots (${why}) with a custom clock: slots keep time by the system clock; ` +
        `a custom clock (ManualClock) needs runtime: 'single-thread'`,
    );
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;


