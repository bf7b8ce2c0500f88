import { types } from 'node:util';
import { FilterOperator } from '../operators/FilterOperator.js';
import { FlatMapOperator } from '../operators/FlatMapOperator.js';
import { MapOperator } from '../operators/MapOperator.js';
import { ProcessOperator } from '../operators/ProcessOperator.js';
import { SinkOperator } from '../operators/SinkOperator.js';
import type { OperatorFactory } from '../operators/StreamOperator.js';
import { InvalidJobError } from '../runtime/errors.js';
import type { JobExecutionResult } from '../runtime/JobRunner.js';
import { MAX_PARALLELISM, type Key } from '../runtime/keyGroups.js';
import { CollectSink } from '../sinks/CollectSink.js';
import { FunctionSink } from '../sinks/FunctionSink.js';
import { PrintSink } from '../sinks/PrintSink.js';
import { ASYNC_FUNCTIONS_HINT } from '../operators/userFunctions.js';
import type {
  FilterFunction,
  FlatMapFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
  ProcessFunction,
  ReduceFunction,
} from './functions.js';
import { KeyedProcessOperator } from '../operators/KeyedProcessOperator.js';
import { KeyedReduceOperator } from '../operators/KeyedReduceOperator.js';
import { OutputTag } from './OutputTag.js';
import { isPerSubtask, type PerSubtask } from './perSubtask.js';
import type { Sink } from './Sink.js';
import { describeValue, OptionChecker } from './OptionChecker.js';
import type { StreamExecutionEnvironment } from './StreamExecutionEnvironment.js';
import type { Chaining, OperatorTransformation, Transformation } from './transformations.js';
import { brandClass } from './brandClass.js';

/** What `executeAndCollectWithResult` resolves with: the collected records and the job's result. */
export interface CollectedJob<T> {
  /** Every record the collected stream carried, all subtasks', in arrival order. */
  readonly records: T[];
  /** What `execute()` resolves with: status, duration, per-operator counts, metrics. */
  readonly result: JobExecutionResult;
}

/** Options of {@link DataStream.transform}: how a custom operator is placed in the graph. */
export interface TransformOptions {
  /** How the operator is placed into tasks (see {@link Chaining}). Default `always`. */
  readonly chaining?: Chaining;
  /**
   * Side outputs whose records must not be dropped (dead letters): building
   * the job fails, naming the operator, unless a `getSideOutput(tag)` of it
   * is read by another operator.
   */
  readonly requiredSideOutputs?: readonly OutputTag<unknown>[] | undefined;
}

const TRANSFORM_OPTIONS = ['chaining', 'requiredSideOutputs'];

// DataStream and KeyedStream share this module: keyBy() returns the subclass, and
// an import cycle between two modules would break class initialisation.

/**
 * A stream of records of type `T`. Every transformation returns a new
 * stream; nothing runs until `execute()`.
 */
export class DataStream<T> {
  static {
    brandClass(this, 'DataStream');
  }

  /** @internal */
  constructor(
    /** The environment that runs this stream's job. */
    readonly env: StreamExecutionEnvironment,
    /** @internal */
    readonly transformation: Transformation,
  ) {}

  /** Applies `fn` to every record. A rich function can be given as a factory, one instance per subtask: `map(perSubtask(() => new Enrich()))`. */
  map<R>(fn: MapFunction<T, R> | ((value: T) => R) | PerSubtask<MapFunction<T, R>>): SingleOutputStream<R> {
    checkFunction('map', fn, 'map');
    return this.transform<R>('Map', (ctx) => new MapOperator(ctx, fn));
  }

  /** Zero or more records per record: a function returning an iterable, or a `FlatMapFunction` with a collector. */
  flatMap<R>(fn: FlatMapFunction<T, R> | ((value: T) => Iterable<R>) | PerSubtask<FlatMapFunction<T, R>>): SingleOutputStream<R> {
    checkFunction('flatMap', fn, 'flatMap');
    return this.transform<R>('FlatMap', (ctx) => new FlatMapOperator(ctx, fn));
  }

  /** Keeps the records `fn` accepts; a type guard narrows the stream's type. */
  filter<S extends T>(fn: (value: T) => value is S): SingleOutputStream<S>;
  filter(fn: FilterFunction<T> | ((value: T) => boolean) | PerSubtask<FilterFunction<T>>): SingleOutputStream<T>;
  filter(fn: FilterFunction<T> | ((value: T) => boolean) | PerSubtask<FilterFunction<T>>): SingleOutputStream<T> {
    checkFunction('filter', fn, 'filter');
    return this.transform<T>('Filter', (ctx) => new FilterOperator(ctx, fn));
  }

  /** Runs a `ProcessFunction`: any number of outputs per record, side outputs, processing time. */
  process<R>(fn: ProcessFunction<T, R> | PerSubtask<ProcessFunction<T, R>>): SingleOutputStream<R> {
    checkProcessFunction(fn);
    return this.transform<R>('Process', (ctx) => new ProcessOperator(ctx, fn));
  }

  /**
   * Partitions the stream by key: records with the same key go to the same
   * subtask, and the next operator sees that key's state and timers.
   * Keys must be strings, numbers, bigints or booleans (compose several
   * fields into a string).
   */
  keyBy<TKey extends Key>(selector: KeySelector<T, TKey>): KeyedStream<T, TKey> {
    this.env.checkUsable(this.transformation);
    if (typeof selector !== 'function') throw new InvalidJobError('keyBy() needs a key selector function');
    const partition = this.env.add({
      kind: 'partition',
      input: this.transformation,
      partitioning: 'hash',
      keySelector: selector as (value: unknown) => Key,
      name: 'keyBy',
      uid: undefined,
      parallelism: undefined,
    });
    return new KeyedStream<T, TKey>(this.env, partition, selector);
  }

  /** Spreads records round-robin over the next operator's subtasks. */
  rebalance(): DataStream<T> {
    this.env.checkUsable(this.transformation);
    return new DataStream<T>(
      this.env,
      this.env.add({ kind: 'partition', input: this.transformation, partitioning: 'rebalance', name: 'rebalance', uid: undefined, parallelism: undefined }),
    );
  }

  /** Merges streams of the same type. */
  union(...others: DataStream<T>[]): DataStream<T> {
    this.env.checkUsable(this.transformation);
    for (const other of others) {
      if (!(other instanceof DataStream)) throw new InvalidJobError(`union() needs DataStreams, got ${describeValue(other)}`);
      if (other.env !== this.env) throw new InvalidJobError('union() of streams from different environments');
      this.env.checkUsable(other.transformation);
    }
    return new DataStream<T>(
      this.env,
      this.env.add({
        kind: 'union',
        inputs: [this.transformation, ...others.map((o) => o.transformation)],
        name: 'Union',
        uid: undefined,
        parallelism: undefined,
      }),
    );
  }

  /**
   * Adds a custom operator (the SPI `@tributary/async` builds on): `factory`
   * creates one operator instance per subtask.
   */
  transform<R>(name: string, factory: OperatorFactory<T, R>, options: TransformOptions = {}): SingleOutputStream<R> {
    return new SingleOutputStream<R>(this.env, this.addOperator(name, factory, options, false));
  }

  /** Writes the stream to a sink connector. */
  sinkTo(sink: Sink<T>): DataStreamSink {
    if (typeof sink?.createWriter !== 'function') throw new InvalidJobError('sinkTo() needs a sink with a createWriter(ctx) method');
    const t = this.addOperator('Sink', (ctx) => new SinkOperator<T>(ctx, sink), {}, true, sink);
    return new DataStreamSink(this.env, t);
  }

  /** Writes each record with `fn`; a returned promise holds back the next record until it settles. */
  addSink(fn: (value: T) => void | Promise<void>): DataStreamSink {
    if (typeof fn !== 'function') throw new InvalidJobError('addSink() needs a function');
    return this.sinkTo(new FunctionSink(fn)).name('Sink: Function');
  }

  /** Prints each record to stdout. */
  print(prefix?: string): DataStreamSink {
    new OptionChecker('print()').optionalString('prefix', prefix);
    return this.sinkTo(new PrintSink<T>(prefix)).name('Sink: Print');
  }

  /**
   * Runs the job with this stream collected into an array and resolves with
   * it (all subtasks' records, in arrival order). For the job's
   * {@link JobExecutionResult} too, use {@link executeAndCollectWithResult}.
   * At least once across a restart: the records a failed attempt collected
   * stay, and the restarted attempt collects those after its checkpoint again.
   */
  async executeAndCollect(jobName = 'collect'): Promise<T[]> {
    return (await this.executeAndCollectWithResult(jobName)).records;
  }

  /**
   * Runs the job as {@link executeAndCollect} does and resolves with the
   * records and the job's result (status, `runtimeMs`, per-operator counts,
   * metrics), which `execute()` would have returned.
   *
   * @example
   * ```ts
   * const { records, result } = await stream.executeAndCollectWithResult('word count');
   * console.log(`${records.length} records in ${result.runtimeMs} ms`);
   * ```
   */
  async executeAndCollectWithResult(jobName = 'collect'): Promise<CollectedJob<T>> {
    const sink = new CollectSink<T>();
    this.collectInto(sink);
    const result = await this.env.execute(jobName);
    return { records: sink.values, result };
  }

  /** @internal The sink `executeAndCollect` adds: the same in the main thread and in every slot. */
  collectInto(sink: Sink<T>): DataStreamSink {
    return this.sinkTo(sink).name('Sink: Collect');
  }

  /** @internal What the operators applied to this stream run keyed by: nothing, but on a {@link KeyedStream}. */
  protected get operatorKeySelector(): ((value: unknown) => Key) | undefined {
    return undefined;
  }

  /** @internal */
  protected addOperator(
    name: string,
    factory: OperatorFactory<T, unknown>,
    options: TransformOptions,
    isSink: boolean,
    sink?: Sink<unknown>,
  ): OperatorTransformation {
    this.env.checkUsable(this.transformation);
    if (typeof name !== 'string' || name === '') throw new InvalidJobError('transform() needs a non-empty operator name');
    const check: OptionChecker = new OptionChecker(`transform('${name}')`);
    if (typeof factory !== 'function') check.fail('needs an operator factory function');
    check.known(check.object(options), TRANSFORM_OPTIONS);
    const chaining = check.oneOf('chaining', options.chaining, ['always', 'head', 'first'], 'always');
    const required: unknown = options.requiredSideOutputs ?? [];
    if (!isOutputTags(required)) {
      check.fail(`option 'requiredSideOutputs' must be an array of OutputTags, got ${describeValue(required)}`);
    }
    return this.env.add<OperatorTransformation>({
      kind: 'operator',
      input: this.transformation,
      factory: factory,
      // A sink of a keyed stream runs unkeyed, as in Flink: it has no keyed state.
      keySelector: isSink ? undefined : this.operatorKeySelector,
      chaining,
      requiredSideOutputs: required.map((tag) => tag.id),
      isSink,
      sink,
      name,
      uid: undefined,
      parallelism: undefined,
    });
  }
}

/** A stream produced by one operator or source: it can be named, given a uid and a parallelism. */
export class SingleOutputStream<T> extends DataStream<T> {
  /** Names the operator in logs, metrics and errors. */
  name(name: string): this {
    this.env.checkUsable(this.transformation);
    if (typeof name !== 'string' || name === '') throw new InvalidJobError('name() needs a non-empty string');
    this.transformation.name = name;
    return this;
  }

  /** A stable id for the operator, unique in the job: checkpoints find its state by it. */
  uid(uid: string): this {
    this.env.checkUsable(this.transformation);
    this.env.claimUid(uid, this.transformation.name);
    this.transformation.uid = uid;
    return this;
  }

  /** Runs the operator in `parallelism` subtasks. */
  setParallelism(parallelism: number): this {
    this.env.checkUsable(this.transformation);
    const t = this.transformation;
    new OptionChecker(`setParallelism() of '${t.name}'`).integer('parallelism', parallelism, 1, MAX_PARALLELISM);
    if (t.kind === 'source' && t.source.parallel !== true && parallelism !== 1) {
      throw new InvalidJobError(`'${t.name}' is a non-parallel source; its parallelism must be 1, got ${parallelism}`);
    }
    t.parallelism = parallelism;
    return this;
  }

  /** The records this operator emitted to the side output `tag`. */
  getSideOutput<S>(tag: OutputTag<S>): DataStream<S> {
    this.env.checkUsable(this.transformation);
    if (!(tag instanceof OutputTag)) throw new InvalidJobError(`getSideOutput() of '${this.transformation.name}' needs an OutputTag, got ${describeValue(tag)}`);
    return new DataStream<S>(
      this.env,
      this.env.add({ kind: 'sideOutput', input: this.transformation, tagId: tag.id, name: `side output '${tag.id}'`, uid: undefined, parallelism: undefined }),
    );
  }
}

/** A sink in the graph: it can be named, given a uid and a parallelism. */
export class DataStreamSink extends SingleOutputStream<never> {}

function isOutputTags(value: unknown): value is readonly OutputTag<unknown>[] {
  return Array.isArray(value) && value.every((tag) => tag instanceof OutputTag);
}

/** A process function is an object (its hooks and side outputs need one), or a perSubtask() factory of them. */
function checkProcessFunction(fn: unknown): void {
  if (isPerSubtask(fn)) return;
  if (typeof (fn as { processElement?: unknown } | null | undefined)?.processElement !== 'function') {
    throw new InvalidJobError('process() needs an object with a processElement() method or a perSubtask() factory');
  }
  checkHooks('process', fn, PROCESS_HOOKS);
}

/** The hooks the runtime calls on a rich function object, when present. */
const RICH_HOOKS = ['open', 'close'] as const;
const PROCESS_HOOKS = ['open', 'close', 'onTimer'] as const;

/** A hook that is not a function would never be called: `open: 5` silently skips the user's setup. */
function checkHooks(operator: string, fn: unknown, hooks: readonly string[] = RICH_HOOKS): void {
  if (typeof fn !== 'object' || fn === null) return;
  for (const hook of hooks) {
    const value = (fn as Record<string, unknown>)[hook];
    if (value !== undefined && typeof value !== 'function') new OptionChecker(`${operator}()`).fail(`the function's '${hook}' must be a method, got ${describeValue(value)}`);
  }
}

/** A map, filter or flatMap function: synchronous (its Promise would pass for a record, or for `true`). */
function checkFunction(operator: 'map' | 'filter' | 'flatMap', fn: unknown, method: string): void {
  if (isPerSubtask(fn)) return;
  const call = typeof fn === 'function' ? fn : typeof fn === 'object' && fn !== null ? (fn as Record<string, unknown>)[method] : undefined;
  if (typeof call !== 'function') {
    throw new InvalidJobError(`${operator}() needs a function, an object with a ${method}() method or a perSubtask() factory`);
  }
  // A plain function that returns a Promise is caught at its first record (see returnedPromise).
  if (types.isAsyncFunction(call)) new OptionChecker(`${operator}()`).fail(`the function is async: ${ASYNC_FUNCTIONS_HINT}`);
  checkHooks(operator, fn);
}

/**
 * A stream partitioned by key. Operators applied to it run per key: their
 * rich functions can use keyed state, and process functions keyed timers.
 */
export class KeyedStream<T, TKey extends Key> extends DataStream<T> {
  static {
    brandClass(this, 'KeyedStream');
  }

  /** @internal */
  constructor(
    env: StreamExecutionEnvironment,
    transformation: Transformation,
    /** The key of each record. */
    readonly keySelector: KeySelector<T, TKey>,
  ) {
    super(env, transformation);
  }

  /** Runs a `KeyedProcessFunction`: keyed state, timers per key, side outputs. */
  override process<R>(fn: KeyedProcessFunction<TKey, T, R> | PerSubtask<KeyedProcessFunction<TKey, T, R>>): SingleOutputStream<R> {
    checkProcessFunction(fn);
    return this.transform<R>('KeyedProcess', (ctx) => new KeyedProcessOperator<TKey, T, R>(ctx, fn));
  }

  /** Rolling reduce per key: emits the key's new value after every record. */
  reduce(fn: ReduceFunction<T> | ((accumulator: T, value: T) => T) | PerSubtask<ReduceFunction<T>>): SingleOutputStream<T> {
    if (!isPerSubtask(fn) && typeof fn !== 'function' && typeof fn?.reduce !== 'function') {
      throw new InvalidJobError('reduce() needs a function, an object with a reduce() method or a perSubtask() factory');
    }
    checkHooks('reduce', fn);
    return this.transform<T>('Reduce', (ctx) => new KeyedReduceOperator<T>(ctx, fn));
  }

  // Keyed map/flatMap are the plain operators: they set the current key because the stream is keyed.

  /** A keyed map: a rich function's `open(ctx)` can declare keyed state. */
  override map<R>(fn: MapFunction<T, R> | ((value: T) => R) | PerSubtask<MapFunction<T, R>>): SingleOutputStream<R> {
    return super.map(fn);
  }

  /** A keyed flatMap: a rich function's `open(ctx)` can declare keyed state. */
  override flatMap<R>(fn: FlatMapFunction<T, R> | ((value: T) => Iterable<R>) | PerSubtask<FlatMapFunction<T, R>>): SingleOutputStream<R> {
    return super.flatMap(fn);
  }

  /** @internal Operators applied to a keyed stream run keyed. */
  protected override get operatorKeySelector(): (value: unknown) => Key {
    return this.keySelector as (value: unknown) => Key;
  }
}
