import { InvalidJobError, messageOf } from '../runtime/errors.js';
import type { JobClient, JobExecutionResult } from '../runtime/JobRunner.js';
import { CollectSink } from '../sinks/CollectSink.js';
import { DataStream, type CollectedJob } from './DataStream.js';
import { describeValue, OptionChecker } from './OptionChecker.js';
import { EXECUTE_OPTIONS, StreamExecutionEnvironment, type ExecuteOptions } from './StreamExecutionEnvironment.js';

/** What `build` returns: the environment, or the stream to collect (`executeAndCollect`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a stream of any record type (its key selectors make T invariant)
export type JobBuild = StreamExecutionEnvironment | DataStream<any>;

/** Options of {@link defineJob}. */
export interface JobDefinitionOptions<A, B extends JobBuild> {
  /** The job module's URL, `import.meta.url`: every slot imports it to build the job. */
  readonly module: string;
  /**
   * Builds the job from `args` (structured-cloned to every slot). Runs in the
   * main thread and in every slot, and must build the same graph in each: no
   * `Math.random()`, clock or environment-dependent branches; nothing outside
   * the pipeline (input generation, reports) belongs here.
   */
  readonly build: (args: A) => B;
}

/** Options of a defined job's `execute`, `executeAsync` and `executeAndCollect`. */
export interface JobDefinitionExecuteOptions extends ExecuteOptions {
  /** Default `'Tributary job'` (`'collect'` for `executeAndCollect`). */
  readonly jobName?: string;
}

/** A job every slot can build: see {@link defineJob}. */
export interface JobDefinition<A, B extends JobBuild> {
  /** The job module's URL. */
  readonly module: string;
  /** Builds the job from `args` and runs it; resolves when it ends (as `env.execute()`). */
  execute(args: A, options?: JobDefinitionExecuteOptions): Promise<JobExecutionResult>;
  /** Builds the job from `args`, starts it and returns its client (as `env.executeAsync()`). */
  executeAsync(args: A, options?: JobDefinitionExecuteOptions): JobClient;
  /** Runs the job with the stream `build` returned collected, and resolves with its records in arrival order. */
  executeAndCollect(args: A, options?: JobDefinitionExecuteOptions): Promise<B extends DataStream<infer T> ? T[] : never>;
  /** Runs the job as `executeAndCollect` does and resolves with its records and its result (as `stream.executeAndCollectWithResult()`). */
  executeAndCollectWithResult(args: A, options?: JobDefinitionExecuteOptions): Promise<CollectedJob<B extends DataStream<infer T> ? T : never>>;
}

/** A definition the registry holds: its build function, untyped. */
export interface RegisteredJob {
  readonly build: (args: unknown) => JobBuild;
}

/**
 * Definitions by module URL, in the order the module defines them: how a slot finds a job after importing its module.
 * One per thread, shared by every copy of this package in it: under a loader such as tsx, a CommonJS job module's
 * `require()` and the slot's `import()` get two copies, and the slot must find what the module defined in the other.
 */
const registry: Map<string, RegisteredJob[]> = ((globalThis as Record<symbol, unknown>)[Symbol.for('tributary.jobRegistry')] ??= new Map()) as Map<
  string,
  RegisteredJob[]
>;

/** The `ordinal`th job `module` defines; undefined when there is none. */
export function registeredJob(module: string, ordinal: number): RegisteredJob | undefined {
  return registry.get(module)?.[ordinal];
}

/**
 * Defines a job that can run in slots (Flink loads the user's jar in every
 * TaskManager; a slot imports the job's module). Call it at the top level of
 * a module without other side effects, and run the job through the returned
 * definition; work outside the pipeline (generating input, printing a
 * report, reading the command line) stays in the code that calls `execute`,
 * which runs once.
 *
 * @example
 * ```ts
 * // wordCount.job.ts
 * export const wordCount = defineJob({
 *   module: import.meta.url,
 *   build: (args: { lines: string[] }) => {
 *     const env = StreamExecutionEnvironment.create({ parallelism: 2 });
 *     env.fromCollection(args.lines).flatMap((line) => line.split(' ')).keyBy((word) => word).map((word) => word.toUpperCase()).print();
 *     return env;
 *   },
 * });
 * // main.ts
 * await wordCount.execute({ lines }, { jobName: 'word count' });
 * ```
 */
export function defineJob<A, B extends JobBuild>(options: JobDefinitionOptions<A, B>): JobDefinition<A, B> {
  const check = new OptionChecker('defineJob()');
  check.known(check.object(options), ['module', 'build']);
  const module = check.nonEmptyString('module', options.module);
  if (!module.startsWith('file:')) check.fail(`option 'module' must be the job module's file URL (import.meta.url), got '${module}'`);
  const build = check.func('build', options.build);
  const defined = registry.get(module) ?? [];
  registry.set(module, defined);
  const ordinal = defined.length;
  defined.push({ build: build as (args: unknown) => JobBuild });

  const launch = (args: A, runOptions: JobDefinitionExecuteOptions, collected: unknown[] | undefined): JobClient => {
    const run = new OptionChecker('execute()');
    run.known(run.object(runOptions), ['jobName', ...EXECUTE_OPTIONS]);
    const { jobName = collected === undefined ? 'Tributary job' : 'collect', ...execute } = runOptions;
    // The slots get a structured clone: the main thread builds from one too, so every thread sees the same args.
    let cloned: A;
    try {
      cloned = structuredClone(args);
    } catch (error) {
      throw new InvalidJobError(`Job '${jobName}': its args must be structured-cloneable, to reach every slot: ${messageOf(error)}`, { cause: error });
    }
    const built: JobBuild = build(cloned);
    const env = built instanceof DataStream ? built.env : built;
    if (!(env instanceof StreamExecutionEnvironment)) {
      // Every slot builds the graph again, synchronously, as its module loads: build cannot wait.
      const async = (built as unknown) instanceof Promise ? ' (build must be synchronous: it returned a Promise)' : '';
      check.fail(`build must return a StreamExecutionEnvironment or a DataStream, got ${describeValue(built)}${async}`);
    }
    if (collected !== undefined) {
      if (!(built instanceof DataStream)) check.fail('executeAndCollect() needs build to return the DataStream to collect');
      (built as DataStream<unknown>).collectInto(new CollectSink<unknown>(collected));
    }
    return env.launch(jobName, execute, { module, ordinal, args: cloned, collected });
  };
  type Collected = CollectedJob<B extends DataStream<infer T> ? T : never>;
  const collect = async (args: A, runOptions: JobDefinitionExecuteOptions = {}): Promise<Collected> => {
    const records: unknown[] = [];
    const result = await launch(args, runOptions, records).result;
    return { records, result } as Collected;
  };
  return {
    module,
    // A job that cannot start rejects, as the return type says, rather than throwing at the call.
    execute: async (args, runOptions = {}) => launch(args, runOptions, undefined).result,
    executeAsync: (args, runOptions = {}) => launch(args, runOptions, undefined),
    executeAndCollect: async (args, runOptions = {}) => (await collect(args, runOptions)).records as B extends DataStream<infer T> ? T[] : never,
    executeAndCollectWithResult: collect,
  };
}
