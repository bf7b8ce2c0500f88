import {
  type Counter,
  createOperatorContext,
  describeValue,
  drain,
  Mailbox,
  type MailboxOwner,
  MAX_PARALLELISM,
  OptionChecker,
  type HeapKeyedStateBackend,
  ManualClock,
  messageOf,
  MetricRegistry,
  keyedShare,
  restoreOperator,
  snapshotOperator,
  type Key,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorFactory,
  type OperatorListState,
  type OperatorSnapshot,
  type Output,
  type OutputTag,
  type TaskHooks,
  TaskTime,
} from '@tributary/core';

/** Options shared by {@link OneInputOperatorHarness} and {@link KeyedOneInputOperatorHarness}. */
export interface HarnessOptions {
  /** The clock the operator sees; share it with a `FakeBatchService`. Default: `new ManualClock(0)`. */
  readonly clock?: ManualClock;
  /** Operator name, used in error messages. Default: `'Operator under test'`. */
  readonly name?: string;
  /** Operator uid, also in error messages. Default: none. */
  readonly uid?: string;
  /** Which subtask the operator believes it is. Default 0. */
  readonly subtaskIndex?: number;
  /** How many subtasks the operator believes there are. Default 1. */
  readonly parallelism?: number;
  /** Where the operator's metrics go. Default: a new registry; read it with `harness.metrics.snapshot()`. */
  readonly metrics?: MetricRegistry;
  /**
   * How many clock steps {@link OperatorHarness.endInput} and
   * {@link OperatorHarness.feed} take at most before they give up (an
   * operator that re-arms a timer forever). Default 10,000.
   */
  readonly maxSteps?: number;
}

const HARNESS_OPTIONS = ['clock', 'name', 'uid', 'subtaskIndex', 'parallelism', 'metrics', 'maxSteps'];

/** A record the operator emitted, with the processing time it was emitted at. */
export interface TimedRecord<T> {
  readonly time: number;
  readonly value: T;
}

type Lifecycle = 'created' | 'open' | 'ended' | 'closed';

/**
 * What a harness knows of the snapshots it took: the checkpoint id and the
 * parallelism, which a runtime checkpoint records and a bare
 * `OperatorSnapshot` does not. A restore reads them to number its next
 * checkpoint after it and to refuse what the runtime refuses.
 */
const TAKEN = new WeakMap<OperatorSnapshot, { readonly checkpointId: number; readonly parallelism: number }>();

/**
 * What both operator harnesses share: an operator instance driven by hand,
 * on a {@link ManualClock}, with its outputs collected in arrays.
 *
 * The harness plays the task the runtime would run the operator in: it
 * builds the operator's context with core's `createOperatorContext` (so the
 * operator behaves as in a job) and implements the task hooks with the
 * runtime's `Mailbox`: `execute` runs timer and promise callbacks as mails
 * (one sent while a record, a snapshot or another mail runs waits for it)
 * and records their exceptions as {@link failure}; `backpressure` makes
 * {@link backpressured} true until the promise settles; `signal` aborts on
 * failure and on {@link cancel}. Once the task failed, every call that would
 * give it work, time or a checkpoint throws, naming the failure.
 *
 * Nothing here sleeps: time moves only through {@link setProcessingTime}
 * (or the shared `clock`), and {@link drain} runs pending promise work and
 * the mails it sends without moving it.
 */
export abstract class OperatorHarness<TIn, TOut> implements MailboxOwner {
  /** The operator's clock; time moves only when a test moves it. */
  readonly clock: ManualClock;
  /** The operator's metrics, registered under the names the operator chose (`metrics.snapshot()['numRecordsIn']`). */
  readonly metrics: MetricRegistry;
  /** The operator under test. */
  readonly operator: OneInputStreamOperator<TIn>;
  /** The context the operator was created with. */
  readonly context: OperatorContext<TOut>;

  private readonly output: TOut[] = [];
  private readonly timedOutput: TimedRecord<TOut>[] = [];
  private readonly sideOutputs = new Map<string, unknown[]>();
  private readonly blockers = new Set<Promise<unknown>>();
  private readonly controller = new AbortController();
  private readonly recordsIn: Counter;
  /** Runs the operator's timers and completions one at a time, as its task would. */
  private readonly mailbox = new Mailbox(this);
  /** The mailbox's time accounting (the harness reports none). */
  readonly time = new TaskTime();
  private readonly maxSteps: number;
  private lifecycle: Lifecycle = 'created';
  private nextCheckpointId = 1;
  private failed: { error: unknown } | undefined;

  protected constructor(
    factory: OperatorFactory<TIn, TOut>,
    keyed: { readonly selector: (value: unknown) => Key; readonly backend: HeapKeyedStateBackend } | undefined,
    options: HarnessOptions,
  ) {
    const check = new OptionChecker(new.target.name);
    check.func('factory', factory);
    check.known(check.object(options), HARNESS_OPTIONS);
    const parallelism = check.optionalInteger('parallelism', options.parallelism, 1, 1, MAX_PARALLELISM);
    const subtaskIndex = check.optionalInteger('subtaskIndex', options.subtaskIndex, 0, 0, parallelism - 1);
    this.maxSteps = check.optionalInteger('maxSteps', options.maxSteps, 10_000);
    // Duck-typed: a second copy of @tributary/core in node_modules has its own classes.
    if (options.clock !== undefined && typeof (options.clock as Partial<ManualClock> | null)?.nextTimerAt !== 'function') {
      check.fail(`option 'clock' must be a ManualClock, got ${describeValue(options.clock)}`);
    }
    this.clock = options.clock ?? new ManualClock(0);
    if (options.metrics !== undefined && typeof (options.metrics as Partial<MetricRegistry> | null)?.group !== 'function') {
      check.fail(`option 'metrics' must be a MetricRegistry, got ${describeValue(options.metrics)}`);
    }
    this.metrics = options.metrics ?? new MetricRegistry();
    check.optionalString('name', options.name);
    check.optionalString('uid', options.uid);
    const group = this.metrics.group();
    this.recordsIn = group.counter('numRecordsIn');
    const recordsOut = group.counter('numRecordsOut');

    const clock = this.clock;
    const output: Output<TOut> = {
      collect: (value) => {
        recordsOut.count++;
        this.output.push(value);
        this.timedOutput.push({ time: clock.now(), value });
      },
      collectSide: (tag, value) => {
        let values = this.sideOutputs.get(tag.id);
        if (values === undefined) this.sideOutputs.set(tag.id, (values = []));
        values.push(value);
      },
    };
    const task: TaskHooks = {
      execute: (action, operator) => {
        this.mailbox.execute(action, operator);
      },
      fail: (error) => {
        this.recordFailure(error);
      },
      backpressure: (until) => {
        const blocker = until.then(
          () => undefined,
          (error: unknown) => {
            // The runtime swallows this; a test should hear about the broken contract.
            this.recordFailure(
              new Error(`operator ${this.context.description} passed task.backpressure() a promise that rejected; it must not reject`, {
                cause: error,
              }),
            );
          },
        );
        this.blockers.add(blocker);
        void blocker.then(() => this.blockers.delete(blocker));
      },
      signal: this.controller.signal,
    };
    const context = createOperatorContext<TOut>(
      {
        name: options.name ?? 'Operator under test',
        uid: options.uid,
        subtaskIndex,
        parallelism,
        clock,
        metrics: group,
        output,
        task,
        keyed,
      },
      (timestamp, key) => this.operator.onProcessingTime?.(timestamp, key),
    );
    this.context = context;
    this.operator = factory(context);
  }

  /** As in the runtime: once the operator is closed or the task failed or was cancelled, mails are dropped. */
  get mailboxClosed(): boolean {
    return this.lifecycle === 'closed' || this.controller.signal.aborted;
  }

  mailFailed(error: unknown): void {
    this.recordFailure(error);
  }

  mailsDone(): void {
    // Records go straight to the collected output: nothing to flush.
  }

  /** The first error given to `task.fail()` or thrown inside `task.execute()` (or by `processElement`); `undefined` if none. */
  get failure(): unknown {
    return this.failed?.error;
  }

  /** True while a promise the operator passed to `task.backpressure()` is pending: the runtime would feed no further record. */
  get backpressured(): boolean {
    return this.blockers.size !== 0;
  }

  /** The task's abort signal: aborted by a failure or by {@link cancel}. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Restores a snapshot taken by {@link snapshot} (on another harness): keyed
   * state, keyed timers, the operator's own state and its list state. To test
   * a restore at another parallelism, give each harness a share and the union
   * made by core's `redistributeListState` (`union` defaults to the snapshot's
   * own lists); keyed state and timers are split as the runtime splits them:
   * a harness restores only the keys its subtask owns. Operator state taken
   * at another parallelism is refused, as a job refuses it. The next
   * checkpoint id follows the snapshot's. Call it on a new
   * harness, before {@link open}. Restored timers start once the operator
   * is open: those already due fire the next time the clock is set or
   * advanced (also to the current time).
   */
  initializeState(snapshot: OperatorSnapshot, union?: OperatorListState): void {
    // Checked first: restoring from null failed reading 'listState', with nothing to say which call was wrong.
    const check = new OptionChecker('initializeState()');
    if (!isPlainObject(snapshot)) check.fail(`needs an OperatorSnapshot (what harness.snapshot() returns) as its first argument, got ${describeValue(snapshot)}`);
    if (union !== undefined && !isPlainObject(union)) check.fail(`the union must be list state (lists by name, as redistributeListState makes them), got ${describeValue(union)}`);
    if (this.lifecycle !== 'created') throw new Error('initializeState() must be called before open(), on a new harness');
    const { parallelism } = this.context;
    const taken = TAKEN.get(snapshot);
    if (taken !== undefined && taken.parallelism !== parallelism && snapshot.operatorState !== undefined) {
      // As the runtime's restore: opaque operator state cannot be re-split, so it only restores at the parallelism it was taken at.
      throw new Error(
        `initializeState(): the snapshot of operator ${this.context.description} was taken at parallelism ${taken.parallelism} and this ` +
          `harness has ${parallelism}; its operator state (what snapshotState() returns) cannot be re-split, so a job refuses ` +
          `this restore. Only keyed state and list state (snapshotListState()) move to another parallelism`,
      );
    }
    restoreOperator(this.context, this.operator, this.keyedShare(snapshot), union);
    // A restored job numbers its checkpoints after the one it restored from.
    if (taken !== undefined) this.nextCheckpointId = Math.max(this.nextCheckpointId, taken.checkpointId + 1);
  }

  /** The keyed state and timers of `snapshot` whose keys this subtask owns, split as the runtime splits them. */
  private keyedShare(snapshot: OperatorSnapshot): OperatorSnapshot {
    const { parallelism, subtaskIndex } = this.context;
    if (parallelism === 1 || (snapshot.keyedState === undefined && snapshot.timers === undefined)) return snapshot;
    return { ...snapshot, ...keyedShare([snapshot], parallelism, subtaskIndex) };
  }

  /** Opens the operator (and the user function it wraps), as task work: the mails it sends run after it returns. */
  async open(): Promise<void> {
    if (this.lifecycle !== 'created') throw new Error(`open() can only be called once, on a new harness (it is ${this.lifecycle})`);
    this.lifecycle = 'open';
    const opening = this.asTaskWork(() => this.operator.open?.());
    try {
      await opening;
    } catch (error) {
      this.recordFailure(error);
      throw error;
    }
    // As the runtime does once a task's operators are open: restored timers start.
    this.context.keyed?.timers.arm();
  }

  /**
   * Feeds one record, synchronously, as the runtime does. An exception the
   * operator throws is recorded as {@link failure} (the job would fail) and
   * rethrown.
   *
   * Like Flink's harness this does not wait while the operator is
   * {@link backpressured}; use {@link feed} to respect backpressure.
   */
  processElement(value: TIn): void {
    this.checkOpen('processElement');
    this.checkRecord(value);
    this.recordsIn.count++;
    this.asTaskWork(() => this.operator.processElement(value));
  }

  /**
   * Feeds records as one chunk, as a task hands over what it read from a
   * source or a channel: one `processChunk` call when the operator has it,
   * else {@link processElement} for each. Like {@link processElement} it does
   * not wait for backpressure (a task gives an operator with `freeCapacity`
   * at most that many records at once).
   */
  processChunk(values: readonly TIn[]): void {
    this.checkOpen('processChunk');
    if (this.operator.processChunk === undefined) {
      this.processElements(values);
      return;
    }
    for (const value of values) this.checkRecord(value);
    this.recordsIn.count += values.length;
    const operator = this.operator as Required<Pick<OneInputStreamOperator<TIn>, 'processChunk'>>;
    this.asTaskWork(() => operator.processChunk(values));
  }

  /** {@link processElement} for each value, in order. */
  processElements(values: Iterable<TIn>): void {
    for (const value of values) this.processElement(value);
  }

  /**
   * Feeds records the way a task does: before each record, while the
   * operator is backpressured, drains (see {@link drain}) and, if that is not
   * enough, moves the clock to its next timer. Rejects if the operator stays
   * backpressured with no timer left to fire (it would hang the job), and
   * with the failure if the task fails meanwhile.
   */
  async feed(values: Iterable<TIn>): Promise<void> {
    this.checkFailed('feed');
    for (const value of values) {
      await this.driveUntil(() => !this.backpressured || this.signal.aborted, 'released backpressure');
      if (this.signal.aborted) return;
      this.processElement(value);
    }
  }

  /**
   * Runs everything runnable without moving the clock: pending promise work,
   * the mails it sends (completions, emitted records), and timers already due.
   */
  async drain(): Promise<void> {
    this.checkFailed('drain');
    await this.settle();
  }

  /**
   * Moves processing time to `t` (never backwards): due timers fire in
   * timestamp order, draining between them. A timer that fails the task
   * is recorded as {@link failure}; the next call rejects.
   */
  async setProcessingTime(t: number): Promise<void> {
    this.checkFailed('setProcessingTime');
    await this.clock.setTime(t);
  }

  /**
   * Signals end of input, as the runtime does when the input is exhausted,
   * and waits for the operator to finish. As in a job, keyed timers already
   * due fire first, the harness waits until the operator is no longer
   * {@link backpressured}, and only then is the operator's `endInput()`
   * called. While the promise it returned is pending, the clock moves to the
   * next pending timer (a batch timeout, a service answering, a retry delay)
   * and the harness drains, again and again. Rejects if the promise is still
   * pending with no timer left (the job would hang), and with the operator's
   * error if it rejects, or with the failure if the task fails meanwhile.
   * Stops waiting, like the runtime, once the task is cancelled.
   *
   * Once it settles the task has ended: keyed timers still pending never
   * fire, however far the clock moves, and a {@link snapshot} no longer holds them, as a job's final snapshot does not.
   */
  async endInput(): Promise<void> {
    this.checkOpen('endInput');
    this.lifecycle = 'ended';
    const timers = this.context.keyed?.timers;
    try {
      // The runtime's OperatorChain.endInput: due keyed timers, then backpressure settles, then the operator's endInput().
      if (timers !== undefined) this.asTaskWork(() => timers.fireDue());
      await this.driveUntil(() => !this.backpressured || this.signal.aborted, 'released backpressure');
      if (this.signal.aborted) return;
      const result = this.asTaskWork(() => this.operator.endInput?.());
      let outcome: { error: unknown } | 'pending' | 'done' = 'pending';
      Promise.resolve(result).then(
        () => (outcome = 'done'),
        (error: unknown) => (outcome = { error }),
      );
      await this.driveUntil(() => outcome !== 'pending' || this.signal.aborted, 'finished end of input');
      const settled = outcome as { error: unknown } | 'pending' | 'done';
      if (typeof settled === 'object') {
        this.recordFailure(settled.error);
        throw settled.error;
      }
    } finally {
      // The task ends with its input: timers not yet due, keyed ones and the operator's own, are dropped, as in a job.
      timers?.dropPending();
      this.context.processingTimeService.dispose();
    }
  }

  /** Closes the operator; its pending timers are cancelled first, as in the runtime. */
  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    this.context.processingTimeService.dispose();
    this.context.keyed?.timers.dispose();
    try {
      await this.operator.close?.();
    } catch (error) {
      this.recordFailure(error);
      throw error;
    }
  }

  /** Aborts the task's signal, as cancelling the job would. */
  cancel(): void {
    this.controller.abort(new Error('job cancelled'));
  }

  /**
   * The operator's state now, as a checkpoint would hold it (taken by core's
   * `snapshotOperator`, like the runtime's): a deep copy of its keyed state
   * and keyed timers (keyed harness) and of what its `snapshotState()` and
   * `snapshotListState()` return. Restore it with {@link initializeState} on a
   * new harness. Throws if either returns a promise: use {@link snapshotAsync}.
   */
  snapshot(checkpointId = this.nextCheckpointId++): OperatorSnapshot {
    this.checkFailed('snapshot');
    const snapshot = this.asTaskWork(() => snapshotOperator(this.context, this.operator, checkpointId));
    if (snapshot instanceof Promise) {
      void snapshot.catch(() => undefined);
      throw new Error(`operator ${this.context.description} snapshots asynchronously: use await harness.snapshotAsync()`);
    }
    return this.taken(snapshot, checkpointId);
  }

  /** {@link snapshot} for operators whose snapshot is a promise (a sink pre-committing). */
  async snapshotAsync(checkpointId = this.nextCheckpointId++): Promise<OperatorSnapshot> {
    this.checkFailed('snapshotAsync');
    return this.taken(await this.asTaskWork(() => snapshotOperator(this.context, this.operator, checkpointId)), checkpointId);
  }

  private taken(snapshot: OperatorSnapshot, checkpointId: number): OperatorSnapshot {
    TAKEN.set(snapshot, { checkpointId, parallelism: this.context.parallelism });
    return snapshot;
  }

  /** Tells the operator that checkpoint `checkpointId` is durable (two-phase-commit sinks commit here). */
  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    this.checkFailed('notifyCheckpointComplete');
    await this.asTaskWork(() => this.operator.notifyCheckpointComplete?.(checkpointId));
  }

  /** Every record emitted on the main output so far, in order. */
  getOutput(): TOut[] {
    return [...this.output];
  }

  /** Every main-output record with the processing time it was emitted at. */
  getTimedOutput(): TimedRecord<TOut>[] {
    return [...this.timedOutput];
  }

  /** Forgets the main output collected so far (side outputs stay). */
  clearOutput(): void {
    this.output.length = 0;
    this.timedOutput.length = 0;
  }

  /** Every record emitted to the side output `tag` so far. */
  getSideOutput<S>(tag: OutputTag<S>): S[] {
    return [...((this.sideOutputs.get(tag.id) as S[] | undefined) ?? [])];
  }

  /** Pending timers: keyed timers plus the operator's processing-time service timers. */
  numProcessingTimeTimers(): number {
    return (this.context.keyed?.timers.size ?? 0) + this.context.processingTimeService.pendingTimers;
  }

  /**
   * Runs `work` as the task runs records and barriers: mails the operator
   * sends meanwhile wait until it returns. A throw is recorded as
   * {@link failure} and rethrown.
   */
  private asTaskWork<T>(work: () => T): T {
    this.mailbox.enter();
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.recordFailure(error);
      this.mailbox.leave();
      throw error;
    }
    this.mailbox.leave();
    return result;
  }

  /** Refuses a record the runtime would never send this subtask (keyed harnesses: a key another subtask owns). */
  protected checkRecord(_value: TIn): void {
    // Any record may reach a non-keyed subtask.
  }

  private recordFailure(error: unknown): void {
    if (this.failed !== undefined) return;
    this.failed = { error };
    this.controller.abort(error);
  }

  /**
   * A failed task takes no more input, time or checkpoints: a test that goes
   * on after a failure it did not look at must not pass as if the job ran on.
   */
  private checkFailed(method: string): void {
    if (this.failed === undefined) return;
    const { error } = this.failed;
    throw new Error(`${method}() after the task failed (see harness.failure): ${messageOf(error)}`, { cause: error });
  }

  private checkOpen(method: string): void {
    this.checkFailed(method);
    if (this.lifecycle !== 'open') {
      throw new Error(
        this.lifecycle === 'created'
          ? `${method}() before open(): call await harness.open() first`
          : `${method}() after end of input: the operator ${this.lifecycle === 'ended' ? 'has ended its input' : 'is closed'}`,
      );
    }
  }

  /** {@link drain} without the failure check: what the harness runs while it waits for the operator. */
  private async settle(): Promise<void> {
    await drain();
    await this.clock.setTime(this.clock.now());
  }

  /** Drains, then moves the clock timer by timer until `done()` holds; rejects when no timer is left. */
  private async driveUntil(done: () => boolean, what: string): Promise<void> {
    for (let steps = 0; ; steps++) {
      await this.settle();
      // The task failed while the harness waited for it: the wait fails with it, as the job would.
      if (this.failed !== undefined) throw this.failed.error;
      if (done()) return;
      const next = this.clock.nextTimerAt();
      if (next === undefined) {
        throw new Error(
          `operator ${this.context.description} never ${what}: it is still waiting at time ${this.clock.now()} ` +
            'and no timer is pending on the clock (a promise that never settles?)',
        );
      }
      if (steps >= this.maxSteps) {
        throw new Error(
          `operator ${this.context.description} has not ${what} after ${this.maxSteps} clock steps (time ${this.clock.now()}); ` +
            'raise the harness option maxSteps if that is expected',
        );
      }
      await this.clock.setTime(Math.max(next, this.clock.now()));
    }
  }
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
