/**
 * The operator SPI: what the runtime (and the test harnesses) call, and
 * what an operator may ask of its task. `@tributary/async` implements its
 * operators against this contract; most users never see it.
 */
import type { Collector, RuntimeContext } from '../api/functions.js';
import { describeValue } from '../api/OptionChecker.js';
import type { OutputTag } from '../api/OutputTag.js';
import type { Clock } from '../runtime/Clock.js';
import { EventLog } from '../logging/EventLog.js';
import { silentLogger } from '../logging/Logger.js';
import type { Key } from '../runtime/keyGroups.js';
import type { MetricGroup } from '../metrics/MetricRegistry.js';
import type { HeapKeyedStateBackend, KeyedStateSnapshot } from '../runtime/state/HeapKeyedStateBackend.js';
import { InternalTimerService, type TimersSnapshot } from '../runtime/timers/InternalTimerService.js';
import { describeOperator, OperatorError } from '../runtime/errors.js';

/** Where an operator emits: the main output and any side outputs. */
export interface Output<T> extends Collector<T> {
  collectSide<S>(tag: OutputTag<S>, value: S): void;
  /** Emits several records at once, as `collect` would one by one (the runtime's outputs have it; harnesses may not). */
  collectChunk?(values: readonly T[]): void;
}

/** Emits `values` in one call when the output takes chunks, else one by one. */
export function emitChunk<T>(output: Output<T>, values: readonly T[]): void {
  if (values.length === 0) return;
  if (output.collectChunk !== undefined) output.collectChunk(values);
  else for (const v of values) output.collect(v);
}

/** A per-record function the runtime may fuse with its neighbours: a map, or a filter that keeps records. */
export type RecordStage =
  | { readonly kind: 'map'; readonly fn: (value: unknown) => unknown }
  | { readonly kind: 'filter'; readonly fn: (value: unknown) => boolean };

/** What an operator needs from the task that runs it. The runtime and the test harnesses implement it. */
export interface TaskHooks {
  /**
   * Runs `action` as a mail of the task (see `Mailbox`): at once when no
   * action of the task runs, else after the running one returns, in the
   * order sent, never nested. Dropped once the task ended or the job
   * stopped. An exception fails the job naming `operator`; records the
   * action emitted are flushed downstream afterwards.
   */
  execute(action: () => void, operator: string): void;
  /**
   * Fails the job with `error`, attributed to `operator`, from outside the task's actions (a promise that
   * rejected). Inside an action, throw instead: the rest of it must not run on an operator torn down by the abort.
   */
  fail(error: unknown, operator: string): void;
  /** Holds back the task's next input record until `until` settles (it must not reject). */
  backpressure(until: Promise<unknown>): void;
  /** Aborted when the job is cancelled or fails. */
  readonly signal: AbortSignal;
}

/** Operator-level (non-keyed) processing-time timers, e.g. an async operator's batch timeout. */
export interface ProcessingTimeService {
  currentProcessingTime(): number;
  /** Runs `callback` as task work once `at` has come; returns a function that cancels it. */
  registerTimer(at: number, callback: (timestamp: number) => void): () => void;
  /** Timers registered and neither fired nor cancelled. */
  readonly pendingTimers: number;
  /** Cancels every pending timer (the task has ended). */
  dispose(): void;
}

/** Keyed context of an operator on a keyed stream. */
export interface KeyedContext {
  readonly selector: (value: unknown) => Key;
  readonly backend: HeapKeyedStateBackend;
  readonly timers: InternalTimerService;
}

/** Everything an operator instance is given when it is created. */
export interface OperatorContext<TOut> {
  readonly name: string;
  readonly uid: string | undefined;
  /** `name` and uid, quoted, for messages. */
  readonly description: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly clock: Clock;
  readonly metrics: MetricGroup;
  readonly output: Output<TOut>;
  readonly processingTimeService: ProcessingTimeService;
  readonly task: TaskHooks;
  /** The job's structured events, with this operator and subtask in their fields (throttling, dead letters). */
  readonly log: EventLog;
  /** Present when the operator runs on a keyed stream. */
  readonly keyed: KeyedContext | undefined;
  /** The context user functions see in `open()`. */
  readonly runtimeContext: RuntimeContext;
}

/**
 * Named lists of plain-data items (Flink's operator `ListState`): the items
 * of a name are re-split round-robin across subtasks when a job restores at
 * another parallelism, so each item must make sense on any subtask.
 */
export type OperatorListState = Readonly<Record<string, readonly unknown[]>>;

/** Operator state in a snapshot: keyed state, keyed timers, the operator's own state and its list state. */
export interface OperatorSnapshot {
  readonly keyedState?: KeyedStateSnapshot;
  readonly timers?: TimersSnapshot;
  /** Opaque: restores only at the parallelism it was taken at. */
  readonly operatorState?: unknown;
  /** Redistributable: restores at any parallelism (see {@link OperatorListState}). */
  readonly listState?: OperatorListState;
  /**
   * Taken after the operator's input ended and its `endInput()` ran (a final
   * snapshot, which later checkpoints keep for a task that ended): a restore
   * does not run its end of input again, which would emit its results twice.
   */
  readonly finished?: true;
}

/**
 * An operator with one input. Created per subtask by an {@link OperatorFactory}.
 *
 * The runtime calls, in order: `initializeState` and `initializeListState`
 * (when restoring), `open`,
 * `processElement` for every record, `endInput` once the input is exhausted
 * (the job waits for the promise: an async operator resolves it when all its
 * work has settled and been emitted), and `close`. `close` is also called on
 * failure and cancellation, so it must release resources without assuming
 * `endInput` ran.
 */
export interface OneInputStreamOperator<TIn> {
  initializeState?(snapshot: OperatorSnapshot): void;
  /**
   * Called before `open()` on a restore whose checkpoint holds list state of
   * this operator, with this subtask's share: its own lists at the same
   * parallelism, else every old subtask's items of each name dealt out
   * round-robin (subtask 0's first, in order; a share may be empty). `union`
   * holds every old subtask's items whole, for what every subtask must see
   * (Flink's union list state), such as which transactions are still pending
   * anywhere.
   */
  initializeListState?(lists: OperatorListState, union: OperatorListState): void;
  open?(): void | Promise<void>;
  /** True when it makes each record's key the current key itself (and so checks it): a chained `keyBy` then checks none. */
  readonly setsKeys?: boolean;
  processElement(value: TIn): void;
  /**
   * Optional: processes several records at once, with exactly the effect of
   * `processElement` on each in order. Inside a chain the runtime hands over
   * whole chunks (the source's reads, a channel's chunks) to operators that
   * have it, saving calls per record; backpressure is then checked per chunk
   * (see `freeCapacity` for operators that bound what they hold). If it
   * throws, the job fails: what the chunk emitted so far may be lost.
   */
  processChunk?(values: readonly TIn[]): void;
  /**
   * Optional, for an operator that bounds what it holds (an async operator's
   * `capacity`) and runs first in its task (`Chaining` `first` or `head`):
   * how many more records it takes before it holds back input. The task
   * reads or hands over no more than that at once, so the bound stays exact
   * while records still arrive a chunk at a time.
   */
  freeCapacity?(): number;
  /**
   * Optional: the operator is a plain per-record function with no state,
   * timers or side outputs (a non-keyed map or filter). A chain runs a run
   * of such operators as one loop over each chunk (see `FusedInput`),
   * instead of one loop and one array per operator.
   */
  recordStage?(): RecordStage | undefined;
  /** A keyed timer fired; the key is already the current key. */
  onProcessingTime?(timestamp: number, key: Key): void;
  endInput?(): void | Promise<void>;
  close?(): void | Promise<void>;
  /**
   * The operator's own state (buffers, offsets) at a checkpoint barrier;
   * keyed state and timers are captured by the runtime. Called synchronously
   * when the barrier arrives: what the operator does afterwards belongs to the
   * next checkpoint. A returned promise (a sink flushing or pre-committing)
   * must resolve before the checkpoint can complete.
   */
  snapshotState?(checkpointId: number): unknown;
  /**
   * Items re-split round-robin across subtasks when the parallelism changes
   * (Flink's operator ListState). Taken at the same instant as
   * `snapshotState`, under the same rules; prefer it for state that is a
   * collection of independent items (buffered records, pending transactions,
   * splits), since opaque state cannot restore at another parallelism.
   * Undefined: no list state (an operator that forwards the call to a part
   * that may not have any).
   */
  snapshotListState?(checkpointId: number): OperatorListState | Promise<OperatorListState> | undefined;
  /** Checkpoint `checkpointId` is durable: commit what it covers (two-phase-commit sinks). */
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
}

/** Creates one operator instance per subtask. */
export type OperatorFactory<TIn, TOut> = (ctx: OperatorContext<TOut>) => OneInputStreamOperator<TIn>;

/** The options {@link createOperatorContext} needs: where the operator runs and what it talks to. */
export interface OperatorContextOptions<TOut> {
  readonly name: string;
  readonly uid?: string | undefined;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly clock: Clock;
  readonly metrics: MetricGroup;
  readonly output: Output<TOut>;
  readonly task: TaskHooks;
  /** Where the operator's events go. Default: nowhere (a harness that does not ask for them). */
  readonly log?: EventLog | undefined;
  readonly keyed?: { readonly selector: (value: unknown) => Key; readonly backend: HeapKeyedStateBackend } | undefined;
}

/**
 * Builds the context an operator instance gets: the runtime uses it for
 * every subtask and the test harnesses for the operator under test, so an
 * operator behaves the same in both.
 */
export function createOperatorContext<TOut>(
  options: OperatorContextOptions<TOut>,
  /** Receives keyed timer firings; bound once the operator exists. */
  onKeyedTimer: (timestamp: number, key: Key) => void,
): OperatorContext<TOut> {
  const { name, uid, clock, task } = options;
  const description = describeOperator(name, uid);
  const execute = (action: () => void): void => {
    task.execute(action, description);
  };
  const keyed: KeyedContext | undefined =
    options.keyed === undefined
      ? undefined
      : {
          ...options.keyed,
          timers: new InternalTimerService(clock, execute, (timestamp, key) => {
            options.keyed?.backend.setCurrentKey(key);
            onKeyedTimer(timestamp, key);
          }),
        };
  const processingTimeService = new OperatorTimers(clock, execute);
  const log = options.log ?? new EventLog(silentLogger, clock, { operator: description, subtask: options.subtaskIndex });
  const noKeyedState = (): never => {
    throw new Error(`Keyed state is only available on a keyed stream (after keyBy); operator ${description} is not keyed`);
  };
  const backend = keyed?.backend;
  const runtimeContext: RuntimeContext = {
    operatorName: name,
    subtaskIndex: options.subtaskIndex,
    parallelism: options.parallelism,
    clock,
    metrics: options.metrics,
    logger: log.logger,
    getState: (d) => (backend === undefined ? noKeyedState() : backend.getState(d)),
    getListState: (d) => (backend === undefined ? noKeyedState() : backend.getListState(d)),
    getMapState: (d) => (backend === undefined ? noKeyedState() : backend.getMapState(d)),
    getReducingState: (d) => (backend === undefined ? noKeyedState() : backend.getReducingState(d)),
  };
  return {
    name,
    uid,
    description,
    subtaskIndex: options.subtaskIndex,
    parallelism: options.parallelism,
    clock,
    metrics: options.metrics,
    output: options.output,
    processingTimeService,
    task,
    log,
    keyed,
    runtimeContext,
  };
}

/**
 * An operator's processing-time service: clock timers whose callbacks run as
 * task work. A class rather than an object of closures, so hot code that asks
 * for the time calls the same method in every job (the JIT keeps its code).
 */
class OperatorTimers implements ProcessingTimeService {
  private readonly pending = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly execute: (action: () => void) => void,
  ) {}

  currentProcessingTime(): number {
    return this.clock.now();
  }

  registerTimer(at: number, callback: (timestamp: number) => void): () => void {
    const cancelClock = this.clock.schedule(at, () => {
      this.pending.delete(cancel);
      this.execute(() => {
        callback(at);
      });
    });
    const cancel = (): void => {
      this.pending.delete(cancel);
      cancelClock();
    };
    this.pending.add(cancel);
    return cancel;
  }

  get pendingTimers(): number {
    return this.pending.size;
  }

  dispose(): void {
    for (const cancel of [...this.pending]) cancel();
  }
}

/** Calls `selector` and rejects keys the runtime cannot route, naming the place that asked (also when the selector throws). */
export function extractKey<T>(selector: (value: T) => Key, value: T, where: string): Key {
  let key: Key;
  try {
    key = selector(value);
  } catch (error) {
    throw OperatorError.wrap(error, where);
  }
  const type = typeof key;
  if (type !== 'string' && type !== 'number' && type !== 'bigint' && type !== 'boolean') {
    throw new OperatorError(
      where,
      new TypeError(
        `the key selector returned ${describeValue(key)}; keys must be strings, numbers, bigints or booleans`,
      ),
    );
  }
  if (type === 'number' && Number.isNaN(key)) {
    throw new OperatorError(where, new TypeError('the key selector returned NaN'));
  }
  return key;
}

/**
 * Takes an operator's snapshot at a barrier: a deep copy of its keyed state,
 * keyed timers and own state, so processing can go on while it is stored.
 * The runtime and the test harnesses both take snapshots through this.
 */
export function snapshotOperator(
  ctx: OperatorContext<unknown>,
  operator: OneInputStreamOperator<unknown>,
  checkpointId: number,
  /** False when nothing is stored (the end of a job without checkpointing): only the operator's own state is taken, so sinks still pre-commit. */
  withKeyedState = true,
): OperatorSnapshot | Promise<OperatorSnapshot> {
  const keyed =
    ctx.keyed === undefined || !withKeyedState
      ? {}
      : { keyedState: ctx.keyed.backend.snapshot(), timers: ctx.keyed.timers.snapshot() };
  // Both parts are asked for, and what they return at once is copied, at the barrier; only promises are awaited.
  const where = ctx.description;
  const state = operator.snapshotState === undefined ? {} : copied(operator.snapshotState(checkpointId), (s) => ({ operatorState: copyState(s, where) }));
  const lists = copied(operator.snapshotListState?.(checkpointId), (l) => (l === undefined ? {} : { listState: copyLists(l, where) }));
  if (state instanceof Promise || lists instanceof Promise) {
    return Promise.all([Promise.resolve(state), Promise.resolve(lists)]).then(([s, l]) => ({ ...keyed, ...s, ...l }));
  }
  return { ...keyed, ...state, ...lists };
}

/** `copy` applied to `value` now, or once it resolves. */
function copied<T, R>(value: T | Promise<T>, copy: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(copy) : copy(value);
}

/**
 * Restores a snapshot taken by {@link snapshotOperator} into a new operator
 * instance, before `open()`. `union` is every old subtask's list state (see
 * `initializeListState`); it defaults to the snapshot's own lists (one subtask).
 */
export function restoreOperator(
  ctx: OperatorContext<unknown>,
  operator: OneInputStreamOperator<unknown>,
  snapshot: OperatorSnapshot,
  union: OperatorListState | undefined = snapshot.listState,
): void {
  if (ctx.keyed === undefined && (snapshot.keyedState !== undefined || snapshot.timers !== undefined)) {
    throw new Error(`The snapshot of operator ${ctx.description} holds keyed state, but the operator is not on a keyed stream`);
  }
  if (snapshot.keyedState !== undefined) ctx.keyed?.backend.restore(snapshot.keyedState);
  if (snapshot.timers !== undefined) ctx.keyed?.timers.restore(snapshot.timers);
  operator.initializeState?.(snapshot);
  if (snapshot.listState !== undefined) operator.initializeListState?.(snapshot.listState, union ?? snapshot.listState);
}

/** A copy of what an operator's (or a source's) `method` returned for a checkpoint, taken now; one that cannot be copied fails naming the operator. */
export function copyState(state: unknown, operator: string, method = 'snapshotState()'): unknown {
  try {
    return structuredClone(state);
  } catch (error) {
    throw new OperatorError(operator, new TypeError(`${method} returned a value a checkpoint cannot store: ${String(error)}`));
  }
}

function copyLists(lists: OperatorListState, operator: string): OperatorListState {
  const copy = copyState(lists, operator, 'snapshotListState()');
  if (typeof copy !== 'object' || copy === null || Object.values(copy).some((items) => !Array.isArray(items))) {
    throw new OperatorError(operator, new TypeError('snapshotListState() must return an object whose every value is an array'));
  }
  return copy as OperatorListState;
}
