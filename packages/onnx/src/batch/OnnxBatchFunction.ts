import { availableParallelism } from 'node:os';
import { NonRetryableError } from '@tributary/async';
import { messageOf, OptionChecker, perSubtask, type PerSubtask, type RuntimeContext } from '@tributary/core';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { SessionFeeds } from '../session/feedsModule.js';
import { InThreadSession } from '../session/InThreadSession.js';
import { SessionPool } from '../session/SessionPool.js';
import type { SessionBatch, SessionRunner } from '../session/SessionRunner.js';
import { validateFeeds } from './validateFeeds.js';

/** What a call may receive from the async batch operator. */
export interface OnnxCallContext {
  /** Aborted on timeout or cancellation: a call still waiting for the session to open is skipped (see {@link OnnxBatchFunction.asyncInvokeBatch}). */
  readonly signal?: AbortSignal;
  readonly attempt?: number;
}

/** Completes one batch attempt (the async operator's `ResultFuture`). */
export interface OnnxResultFuture<TOut> {
  complete(outputs: readonly TOut[]): void;
  completeExceptionally(error: unknown): void;
}

/** Options of {@link onnxBatchFunction}. */
export interface OnnxBatchFunctionOptions<TIn, TOut> {
  /** Path of an `.onnx` file, or the model's bytes. */
  readonly model: string | Uint8Array;
  /** Passed to `InferenceSession.create` in every worker: `intraOpNumThreads`, `executionProviders`, `graphOptimizationLevel`, ... */
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /**
   * Most worker threads running the model at once, each with its own
   * session. One starts on `open`; another starts only when a call finds
   * every worker busy, so the pool grows to the calls in flight (the
   * operator's `maxInFlightBatches`). Default: the CPU cores shared among
   * the operator's parallel subtasks (the cores divided by the parallelism
   * `open` is given, at least 1), so that a job's subtasks together run no
   * more sessions than there are cores; the number of cores for direct use.
   *
   * `0` runs one session on the caller's thread instead: no hop to a worker
   * per call, but every run blocks the caller's event loop (the slot's, in
   * a job) for its whole length, and calls in flight take turns.
   */
  readonly maxWorkers?: number;
  /** Builds the model's named input tensors for a whole batch of records. */
  readonly feeds: (inputs: readonly TIn[]) => Readonly<Record<string, Tensor>>;
  /** Splits the session's outputs into exactly one output per record, in input order. */
  readonly outputs: (results: InferenceSession.ReturnType, inputs: readonly TIn[]) => readonly TOut[];
  /** Names the model in error messages. Default: the path, or `from bytes`. */
  readonly name?: string;
}

/** What the constructor takes: the options, or with feeds built where the session runs (the text embedder's). */
export type OnnxBatchFunctionSpec<TIn, TOut> = Omit<OnnxBatchFunctionOptions<TIn, TOut>, 'feeds'> & {
  readonly feeds: OnnxBatchFunctionOptions<TIn, TOut>['feeds'] | SessionFeeds<TIn>;
};

const BATCH_FUNCTION_OPTIONS = ['model', 'sessionOptions', 'maxWorkers', 'feeds', 'outputs', 'name'];

/** Far above any core count: a larger value is a typo, not a machine. */
const MAX_WORKERS = 256;

/** A worker count, when given. */
export function checkMaxWorkers(check: OptionChecker, maxWorkers: unknown): void {
  if (maxWorkers !== undefined) check.integer('maxWorkers', maxWorkers, 0, MAX_WORKERS);
}

/** Session options, when given: plain data, as every session worker gets a copy. */
export function checkSessionOptions(check: OptionChecker, sessionOptions: unknown): void {
  const options = check.record('sessionOptions', sessionOptions, SESSION_OPTIONS);
  if (options === undefined) return;
  // The thread budget (workers x intra-op threads x slots) rests on these: a wrong one would only fail at the first session.
  if (options.intraOpNumThreads !== undefined) check.integer('sessionOptions.intraOpNumThreads', options.intraOpNumThreads, 0);
  if (options.interOpNumThreads !== undefined) check.integer('sessionOptions.interOpNumThreads', options.interOpNumThreads, 0);
  check.optionalOneOf('sessionOptions.graphOptimizationLevel', options.graphOptimizationLevel, ['disabled', 'basic', 'extended', 'layout', 'all']);
  check.optionalOneOf('sessionOptions.executionMode', options.executionMode, ['sequential', 'parallel']);
  try {
    structuredClone(sessionOptions);
  } catch (error) {
    check.fail(`option 'sessionOptions' must be plain data, as every session worker gets a copy: ${messageOf(error)}`);
  }
}

/** onnxruntime's `InferenceSession.SessionOptions` (1.30), by name: a misspelt one would be ignored, and its default used. */
const SESSION_OPTIONS = [
  'executionProviders',
  'intraOpNumThreads',
  'interOpNumThreads',
  'freeDimensionOverrides',
  'graphOptimizationLevel',
  'enableCpuMemArena',
  'enableMemPattern',
  'executionMode',
  'optimizedModelFilePath',
  'enableProfiling',
  'profileFilePrefix',
  'logId',
  'logSeverityLevel',
  'logVerbosityLevel',
  'preferredOutputLocation',
  'enableGraphCapture',
  'extra',
  'externalData',
];

/** A model given as a path or as bytes. */
export function checkModelSource(check: OptionChecker, model: unknown): void {
  if (!(model instanceof Uint8Array)) check.nonEmptyString('model', model);
}

/**
 * The sessions of instances dropped without `close()`, closed once the instance is garbage: their workers wait idle
 * for the next instance or end, instead of holding a thread and a session until the process exits.
 */
const unclosed = new FinalizationRegistry<SessionRunner>((session) => {
  session.close().catch(() => undefined);
});

interface OpenSession {
  readonly session: SessionRunner;
  /** The model's inputs once the first session exists: calls from then on run without waiting. */
  inputs: readonly InferenceSession.ValueMetadata[] | undefined;
  readonly running: Set<Promise<unknown>>;
}

/**
 * A batch function that runs one `onnxruntime-node` inference session call
 * per batch of records.
 *
 * It has the `AsyncBatchFunction` shape (`open`, `asyncInvokeBatch`,
 * `close`); give it to `AsyncDataStream.unorderedWaitBatch` through
 * {@link onnxBatchFunction}, which returns a factory, so that each parallel
 * subtask creates its own instance and its own session. For direct use,
 * `new OnnxBatchFunction(options)` (or `.create()` of the factory);
 * `invoke(inputs, ctx)` builds the feeds for the whole batch, checks them
 * against the model's declared inputs (a wrong name, element type, rank or
 * size throws {@link OnnxInputError} naming the input and what it expects),
 * runs the session once and splits the outputs back per record.
 *
 * The session runs on a worker thread by default, not on the caller's: its
 * event loop stays free during inference, and calls in flight at once run at
 * once on workers of their own (up to `maxWorkers`). The `feeds` builder and
 * the outputs splitter run on the caller (they are closures); the feeds'
 * buffers move to the worker without a copy, so build new arrays for every
 * batch. ({@link onnxTextEmbedder} sends texts instead, and tokenizes them on
 * the worker.) `maxWorkers: 0` runs the session on the caller's thread (see
 * the option).
 *
 * Lifecycle (Flink's rich function): `open()` starts the first worker and
 * its session, `close()` waits for running calls and stops the workers.
 * Both are optional for direct use: the first `invoke` opens the session if
 * needed, and an instance dropped without `close()` is closed once it is
 * garbage collected. Every subtask has workers of its own (by default the cores
 * divided by the parallelism), so set `sessionOptions.intraOpNumThreads`
 * with the parallelism and the workers in mind.
 *
 * @example
 * ```ts
 * const classify = new OnnxBatchFunction<number[], number>({
 *   model: 'model.onnx',
 *   sessionOptions: { intraOpNumThreads: 2 },
 *   feeds: (rows) => ({ x: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) }),
 *   outputs: (results) => Array.from((results['label'] as Tensor).data as Float32Array),
 * });
 * await classify.open();
 * const labels = await classify.invoke([[1, 2, 3, 4], [5, 6, 7, 8]]);
 * await classify.close();
 * ```
 */
export class OnnxBatchFunction<TIn, TOut> {
  /** The session (or worker pool) this instance opened, until it closes. */
  private opened: OpenSession | undefined = undefined;
  private readonly label: string;
  /** The subtasks sharing the machine's cores (see `maxWorkers`): 1 until `open` is given a context. */
  private parallelism = 1;

  constructor(private readonly options: OnnxBatchFunctionSpec<TIn, TOut>) {
    checkOptions(options);
    this.label = `onnx model "${options.name ?? (typeof options.model === 'string' ? options.model : 'from bytes')}"`;
  }

  /**
   * Creates the inference session (on the first worker, by default); a second call while open does nothing.
   * The operator passes its subtask's context: its parallelism sets the default `maxWorkers`.
   */
  async open(ctx?: Pick<RuntimeContext, 'parallelism'>): Promise<void> {
    if (this.opened === undefined && ctx !== undefined) this.parallelism = ctx.parallelism;
    await this.own().session.inputs;
  }

  /**
   * Runs the model on a batch and returns one output per input, in order.
   *
   * If `ctx.signal` is already aborted, or aborts while the call waits for
   * the session to open, the call rejects with its reason without running.
   * Otherwise an empty batch returns `[]` without opening the session.
   */
  async invoke(inputs: readonly TIn[], ctx: OnnxCallContext = {}): Promise<TOut[]> {
    ctx.signal?.throwIfAborted();
    return this.track(inputs, ctx);
  }

  /**
   * The async batch operator's object form (`AsyncBatchFunction`): runs the
   * batch as {@link invoke} does and completes `resultFuture` with its
   * outputs or error.
   *
   * Unlike `invoke`, it does not check `ctx.signal` up front: the operator
   * calls it as soon as it creates the attempt, so the signal cannot have
   * fired yet, and reading `ctx.signal` makes the operator create an
   * `AbortController` for the attempt. The signal is checked only by a call
   * that had to wait for the session to open, as in `invoke`.
   */
  async asyncInvokeBatch(inputs: readonly TIn[], resultFuture: OnnxResultFuture<TOut>, ctx: OnnxCallContext = {}): Promise<void> {
    let outputs: TOut[];
    try {
      outputs = await this.track(inputs, ctx);
    } catch (error) {
      resultFuture.completeExceptionally(error);
      return;
    }
    resultFuture.complete(outputs);
  }

  /** Waits for running calls, then releases the session(s) and stops the workers. Safe to call when not open. */
  async close(): Promise<void> {
    const opened = this.opened;
    if (opened === undefined) return;
    this.opened = undefined;
    unclosed.unregister(opened);
    await Promise.allSettled(opened.running);
    await opened.session.close();
  }

  /** Runs a batch on this object's session, counted as running until it settles (see `close`); an empty batch opens nothing. */
  private async track(inputs: readonly TIn[], ctx: OnnxCallContext): Promise<TOut[]> {
    if (inputs.length === 0) return [];
    const opened = this.own();
    const call = this.run(opened, inputs, ctx);
    opened.running.add(call);
    try {
      return await call;
    } finally {
      opened.running.delete(call);
    }
  }

  private async run(opened: OpenSession, inputs: readonly TIn[], ctx: OnnxCallContext) {
    let metadata = opened.inputs;
    if (metadata === undefined) {
      metadata = await opened.session.inputs;
      // The call waited for the session: a timeout or a cancellation may have come meanwhile.
      ctx.signal?.throwIfAborted();
    }
    const results = await opened.session.run(this.batch(inputs, metadata));
    const outputs = this.options.outputs(results, inputs);
    if (outputs.length !== inputs.length) {
      throw new NonRetryableError(
        `${this.label}: the outputs splitter returned ${outputs.length} outputs for a batch of ${inputs.length} inputs`,
      );
    }
    return Array.from(outputs);
  }

  /** What the session runs on: the feeds built here and checked, or the inputs of the builder that runs with the session. */
  private batch(inputs: readonly TIn[], metadata: readonly InferenceSession.ValueMetadata[]): SessionBatch {
    const { feeds } = this.options;
    if (feeds instanceof SessionFeeds) return { inputs: feeds.inputs(inputs, this.label) };
    const built = feeds(inputs);
    validateFeeds(built, metadata, this.label);
    return { feeds: built };
  }

  /** This instance's session (or worker pool), started on first use. */
  private own(): OpenSession {
    if (this.opened !== undefined) return this.opened;
    const { model, sessionOptions = {}, maxWorkers = Math.max(1, Math.floor(availableParallelism() / this.parallelism)), feeds } = this.options;
    const label = this.label;
    const builder = feeds instanceof SessionFeeds ? feeds.builder : undefined;
    const session =
      maxWorkers === 0
        ? new InThreadSession(model, sessionOptions, label, builder)
        : new SessionPool({ model, sessionOptions, maxWorkers, label, feeds: builder });
    const opened: OpenSession = { session, inputs: undefined, running: new Set() };
    this.opened = opened;
    unclosed.register(this, session, opened);
    session.inputs.then(
      (inputs) => {
        opened.inputs = inputs;
      },
      // A failed open is forgotten, so the next call (or a restart) tries again with a new session.
      () => {
        if (this.opened === opened) this.opened = undefined;
        unclosed.unregister(opened);
        void session.close();
      },
    );
    return opened;
  }
}

/**
 * An {@link OnnxBatchFunction} per subtask, as a factory for the async batch
 * operators: the generic building block for any ONNX model, given a feeds
 * builder (records -> named tensors) and an outputs splitter (named tensors
 * -> one output per record). The options are checked here, when the job is
 * built; each subtask's instance opens its own session.
 *
 * {@link packSequences} and {@link splitRows} cover the usual token-model
 * case; {@link onnxTextEmbedder} is the ready-made text embedder.
 *
 * @example
 * ```ts
 * const embed = onnxBatchFunction<number[], Float32Array>({
 *   model: '/models/encoder.onnx',
 *   feeds: (seqs) => {
 *     const { ids, mask } = packSequences(seqs, { maskType: 'int64' });
 *     return { input_ids: ids, attention_mask: mask };
 *   },
 *   outputs: (results) => splitRows(results['sentence_embedding'] as Tensor) as Float32Array[],
 * });
 * AsyncDataStream.unorderedWaitBatch(sequences, embed, { maxBatchSize: 32 });
 * ```
 */
export function onnxBatchFunction<TIn, TOut>(options: OnnxBatchFunctionOptions<TIn, TOut>): PerSubtask<OnnxBatchFunction<TIn, TOut>> {
  checkOptions(options);
  return perSubtask(() => new OnnxBatchFunction(options));
}

function checkOptions<TIn, TOut>(options: OnnxBatchFunctionSpec<TIn, TOut>): void {
  const check = new OptionChecker('onnxBatchFunction');
  check.known(check.object(options), BATCH_FUNCTION_OPTIONS);
  checkModelSource(check, options.model);
  checkSessionOptions(check, options.sessionOptions);
  checkMaxWorkers(check, options.maxWorkers);
  if (!(options.feeds instanceof SessionFeeds)) check.func('feeds', options.feeds);
  check.func('outputs', options.outputs);
  check.optionalString('name', options.name);
}
