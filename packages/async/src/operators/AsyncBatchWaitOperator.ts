import { extractKey, subtaskForKey, type Key, type OneInputStreamOperator, type OperatorContext, type OperatorListState, type OperatorSnapshot } from '@tributary/core';
import { AdaptiveBatchPolicy, type AdaptiveTriggers } from '../batching/AdaptiveBatchPolicy.js';
import { BatchAccumulator } from '../batching/BatchAccumulator.js';
import type { BatchOwner, BatchPolicy } from '../batching/BatchPolicy.js';
import { DedupingInvoker } from '../dedupe/DedupingInvoker.js';
import type { AsyncOperatorConfig } from '../internal/config.js';
import { AsyncOperatorMetrics } from '../metrics.js';
import { KeyOrderedResultQueue } from '../ordering/KeyOrderedResultQueue.js';
import { OrderedResultQueue } from '../ordering/OrderedResultQueue.js';
import { UnorderedResultQueue, type ResultQueue } from '../ordering/ResultQueue.js';
import type { ResultSlot } from '../ordering/ResultSlot.js';
import { AttemptController, type AttemptOwner } from './AttemptController.js';
import { Batch, weightOf } from './Batch.js';
import type { Call, Completion } from './Call.js';
import { Dispatcher, type DispatcherOwner } from './Dispatcher.js';
import type { Invoker } from './Invoker.js';

/**
 * The async operators' state in a checkpoint, as list state: every record
 * not yet emitted, as plain data, in runs that restore together and in
 * order: one record each, or every record of one key in `key-ordered` mode.
 * A restore at another parallelism deals the runs out round-robin. `input`
 * entries are sent again after a restore (with fresh attempt counters);
 * `outputs` entries are results of the ordered modes that were complete but
 * waiting for earlier records.
 */
// A type, not an interface: it must fit OperatorListState's index signature.
export type AsyncOperatorListState<TIn, TOut> = {
  readonly records: readonly (readonly AsyncStateEntry<TIn, TOut>[])[];
  /** With adaptive batching: what the policy learned, one entry per subtask. */
  readonly batchPolicy?: readonly unknown[];
};

/** The same records as opaque state, as checkpoints written before list state hold them; still restored. */
export interface AsyncOperatorState<TIn, TOut> {
  readonly version: 1;
  readonly entries: readonly AsyncStateEntry<TIn, TOut>[];
}

/** One record of an {@link AsyncOperatorListState}. */
export type AsyncStateEntry<TIn, TOut> = { readonly input: TIn } | { readonly outputs: readonly TOut[]; readonly key?: Key };

/** Builds a subtask's batch policy; the default is today's fixed triggers. */
export type BatchPolicyFactory<TIn, TOut> = (
  owner: BatchOwner<TIn, ResultSlot<TIn, TOut>>,
  queue: ResultQueue<TIn, TOut>,
  ctx: OperatorContext<TOut>,
  config: AsyncOperatorConfig<TIn, TOut>,
) => BatchPolicy<TIn>;

const fixedTriggers = <TIn, TOut>(
  owner: BatchOwner<TIn, ResultSlot<TIn, TOut>>,
  queue: ResultQueue<TIn, TOut>,
  ctx: OperatorContext<TOut>,
  config: AsyncOperatorConfig<TIn, TOut>,
): BatchPolicy<TIn> => new BatchAccumulator(config, ctx.processingTimeService, queue.tagger, owner);

const adaptiveTriggers = <TIn, TOut>(
  owner: BatchOwner<TIn, ResultSlot<TIn, TOut>>,
  queue: ResultQueue<TIn, TOut>,
  ctx: OperatorContext<TOut>,
  config: AsyncOperatorConfig<TIn, TOut>,
): BatchPolicy<TIn> => new AdaptiveBatchPolicy(config as AdaptiveTriggers<TIn>, ctx.processingTimeService, queue.tagger, owner, ctx.metrics);

/**
 * The async batch operator (Flink's `AsyncWaitOperator`, with batches), as
 * the wiring of its parts: the batch policy forms batches, the dispatcher
 * starts calls of the invoker under the in-flight cap and rate limits, the
 * attempt controller retries, times out, splits and applies the failure
 * policy, and the result queue emits unordered, in order, or in order per
 * key. Per-record async I/O is this operator with batches of one.
 *
 * Every record counts against `capacity` from arrival until it was emitted
 * (or given up); at capacity the operator asks its task to hold back input.
 * Work triggered by promises and timers re-enters the task through `ctx.task.execute`.
 */
export class AsyncBatchWaitOperator<TIn, TOut>
  implements OneInputStreamOperator<TIn>, BatchOwner<TIn, ResultSlot<TIn, TOut>>, DispatcherOwner<TIn, TOut>, AttemptOwner
{
  private readonly invoker: Invoker<TIn, TOut>;
  private readonly queue: ResultQueue<TIn, TOut>;
  private readonly policy: BatchPolicy<TIn>;
  private readonly dispatcher: Dispatcher<TIn, TOut>;
  private readonly attempts: AttemptController<TIn, TOut>;
  private releaseInput: (() => void) | undefined = undefined;
  private finish: (() => void) | undefined = undefined;
  /** Stopped (closed, or the job aborted): nothing is admitted or emitted any more. */
  private stopped = false;
  private restored: readonly AsyncStateEntry<TIn, TOut>[] | undefined = undefined;
  /** The job failed or was cancelled: between actions, since failures inside one are thrown out of it. */
  private readonly onJobAbort = (): void => {
    this.stop(this.ctx.task.signal.reason);
  };

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    private readonly config: AsyncOperatorConfig<TIn, TOut>,
    newPolicy: BatchPolicyFactory<TIn, TOut> = config.adaptive === undefined ? fixedTriggers : adaptiveTriggers,
  ) {
    const metrics = new AsyncOperatorMetrics(ctx.metrics, {
      inFlightBatches: () => this.dispatcher.inFlight,
      bufferedRecords: () => this.policy.size + this.dispatcher.queuedRecords + this.attempts.waitingRecords,
      concurrencyLimit: () => this.dispatcher.limiter.limit,
      maxInFlightBatches: () => config.maxInFlightBatches,
      // The queue keeps its count once stopped (so nothing more is admitted); what it held was dropped.
      heldRecords: () => (this.stopped ? 0 : this.queue.size),
      capacity: () => this.policy.capacity,
    });
    const dedupe = config.dedupe;
    this.invoker =
      dedupe === undefined
        ? config.invoker()
        : new DedupingInvoker(
            config.invoker(),
            {
              key: dedupe.key,
              withInput: dedupe.withInput,
              cache: dedupe.cache(ctx.clock),
              retryOnResult: (result) => config.retry.retryOnResult([result]),
            },
            ctx.metrics,
            (sent, attempt) => {
              metrics.countCall(sent.length, weightOf(sent, config.weigher));
              if (attempt > 1) metrics.retries.count++;
            },
          );
    this.queue = this.newResultQueue();
    this.policy = newPolicy(this, this.queue, ctx, config);
    this.dispatcher = new Dispatcher(config, ctx, this.invoker, metrics, this);
    this.attempts = new AttemptController(config, ctx, metrics, this.dispatcher, this.queue, this);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores the opaque state of a checkpoint written before list state. */
  initializeState(snapshot: OperatorSnapshot): void {
    const state = snapshot.operatorState as Partial<AsyncOperatorState<TIn, TOut>> | undefined;
    if (state === undefined) return;
    if (typeof state !== 'object' || state === null || state.version !== 1 || !Array.isArray(state.entries)) {
      throw new Error(`cannot restore async operator ${this.ctx.description}: its state is not an async operator snapshot (version 1)`);
    }
    this.restored = state.entries;
  }

  initializeListState(lists: OperatorListState, union: OperatorListState): void {
    const runs = this.keyGroupRuns(union) ?? lists.records ?? [];
    if (!runs.every(Array.isArray)) {
      throw new Error(`cannot restore async operator ${this.ctx.description}: its list 'records' does not hold runs of records`);
    }
    this.restored = (runs as AsyncOperatorListState<TIn, TOut>['records']).flat();
    // One state per old subtask: this subtask's own, else (at another parallelism, a share may be empty) the first of all.
    const learned = lists.batchPolicy?.[0] ?? union.batchPolicy?.[0];
    if (learned !== undefined) this.policy.restore(learned, this.ctx.description);
  }

  open(): void | Promise<void> {
    const signal = this.ctx.task.signal;
    if (signal.aborted) this.stop(signal.reason);
    else signal.addEventListener('abort', this.onJobAbort, { once: true });
    const pending = this.invoker.open(this.ctx.runtimeContext);
    // After an asynchronous open the replay is promise-triggered work: a mail, like a completion.
    if (pending !== undefined) return pending.then(() => this.ctx.task.execute(() => this.replay(), this.ctx.description));
    this.replay();
  }

  processElement(value: TIn): void {
    this.queue.admit(1);
    this.policy.add(value);
    if (this.queue.size >= this.policy.capacity) this.checkProgress();
  }

  /** The task hands over at most `max(1, freeCapacity())` records: one more only when a restore left the operator over `capacity`. */
  processChunk(values: readonly TIn[]): void {
    this.policy.addAll(values);
    // Counted once they are in: counted before, records not yet added would make a batch that
    // completes synchronously mid-chunk see a full, idle operator and flush open batches early.
    this.queue.admit(values.length);
    if (this.queue.size >= this.policy.capacity) this.checkProgress();
  }

  freeCapacity(): number {
    return this.policy.capacity - this.queue.size;
  }

  /**
   * Sends every open batch, fires pending retries at once (see
   * `AttemptController.fireWaitingRetries`), and resolves once every record
   * was emitted or given up.
   */
  endInput(): void | Promise<void> {
    this.attempts.endOfInput();
    this.policy.flushAll();
    this.attempts.fireWaitingRetries();
    this.pump();
    // checkProgress resolves it once all is out, or `stop` does; nobody waits on a task already stopped.
    if (this.queue.size === 0) return;
    return new Promise<void>((resolve) => {
      this.finish = resolve;
    });
  }

  /** Aborts every call still running, drops timers and buffers, then closes the user function. */
  close(): void | Promise<void> {
    this.stop(new Error(`async operator ${this.ctx.description} closed`));
    this.ctx.task.signal.removeEventListener('abort', this.onJobAbort);
    return this.invoker.close();
  }

  snapshotListState(): AsyncOperatorListState<TIn, TOut> {
    const records = this.queue.snapshot(() => this.heldInputs());
    const learned = this.policy.snapshot();
    return learned === undefined ? { records } : { records, batchPolicy: [learned] };
  }

  // ------------------------------------------------------------------ wiring

  /** A batch closed (by size, weight, delay or end of input): it joins the line for a call. */
  batchClosed(records: TIn[], slots: ResultSlot<TIn, TOut>[] | undefined, weight: number, firstArrival: number): void {
    this.dispatcher.enqueue(new Batch(records, slots, weight, firstArrival));
    this.pump();
  }

  get atCapacity(): boolean {
    return this.queue.size >= this.policy.capacity;
  }

  get callSlotFree(): boolean {
    return this.dispatcher.callSlotFree;
  }

  callEnded(call: Call<TIn, TOut>, kind: Completion, value: unknown): void {
    const outcome = this.attempts.callEnded(call, kind, value);
    if (outcome !== undefined) this.policy.observe(outcome);
  }

  deadlinePassed(batch: Batch<TIn, TOut>): void {
    this.attempts.deadlinePassed(batch);
  }

  /** Starts calls while a call slot is free and the rate limit allows, then checks flow control. */
  pump(): void {
    this.dispatcher.dispatchReady();
    this.checkProgress();
  }

  /** Stops all work: aborts running calls, drops timers, queues and buffers, and releases every waiter. */
  stop(reason: unknown): void {
    this.stopped = true;
    this.dispatcher.stop(reason);
    this.attempts.stop();
    this.policy.dispose();
    this.queue.clear();
    this.releaseInput?.();
    this.releaseInput = undefined;
    this.finish?.();
    this.finish = undefined;
  }

  /**
   * Runs after every change: lets input flow again once there is room, and
   * when the operator is full with nothing in flight or queued (all held
   * records sit in open batches, or wait behind them in order) sends the
   * open batches, since no completion would ever make room otherwise.
   * Resolves `endInput` once everything was emitted.
   */
  private checkProgress(): void {
    const capacity = this.policy.capacity;
    if (this.queue.size >= capacity) {
      if (this.dispatcher.idle && this.attempts.idle && this.policy.size > 0) this.policy.flushAll();
      if (this.queue.size >= capacity && this.releaseInput === undefined) {
        this.ctx.task.backpressure(
          new Promise<void>((resolve) => {
            this.releaseInput = resolve;
          }),
        );
      }
    } else if (this.releaseInput !== undefined) {
      const release = this.releaseInput;
      this.releaseInput = undefined;
      release();
    }
    if (this.queue.size === 0 && this.finish !== undefined) {
      const finish = this.finish;
      this.finish = undefined;
      finish();
    }
  }

  /** Inputs of every record the operator holds outside the result queue's places: calls, retries, line, open batches. */
  private *heldInputs(): Generator<TIn> {
    for (const batches of [this.dispatcher.batches(), this.attempts.waitingBatches(), this.dispatcher.queued()]) {
      for (const batch of batches) yield* batch.inputs;
    }
    yield* this.policy.records();
  }

  /** Sends the restored records again. */
  private replay(): void {
    const entries = this.restored;
    this.restored = undefined;
    if (entries !== undefined) this.replayRestored(entries);
  }

  private replayRestored(entries: readonly AsyncStateEntry<TIn, TOut>[]): void {
    for (const entry of entries) {
      if ('input' in entry) {
        this.queue.admit(1);
        this.policy.add(entry.input);
      } else {
        // A batch's records must hold adjacent places: a per-batch result fills its first one.
        this.policy.flushAll();
        this.queue.restoreCompleted(entry);
      }
    }
    // Restored records go out at once rather than waiting for new input to fill their batches.
    this.policy.flushAll();
    this.checkProgress();
  }

  /**
   * Key-ordered on a keyed stream: the runs of the keys this subtask owns, from every old subtask's, so that
   * a key's restored records and its new ones (which keyBy sends by key group) meet on one subtask and keep
   * their order at any parallelism. Undefined otherwise: the share dealt to this subtask is as good as any.
   */
  private keyGroupRuns(union: OperatorListState): readonly unknown[] | undefined {
    const keyed = this.ctx.keyed;
    const all = union.records;
    if (this.config.ordering !== 'key-ordered' || this.config.orderKey !== undefined || keyed === undefined || all === undefined) return undefined;
    if (!all.every(Array.isArray)) return undefined;
    const { parallelism, subtaskIndex } = this.ctx;
    const where = this.ctx.description;
    // A run is one key's records (KeyOrderedResultQueue.runsOf): its first entry tells the key.
    const keyOfRun = (run: readonly AsyncStateEntry<TIn, TOut>[]): Key | undefined => {
      const first = run[0];
      if (first === undefined) return undefined;
      return 'input' in first ? extractKey(keyed.selector as (input: TIn) => Key, first.input, where) : first.key;
    };
    return (all as AsyncOperatorListState<TIn, TOut>['records']).filter((run) => {
      const key = keyOfRun(run);
      return key !== undefined && subtaskForKey(key, parallelism) === subtaskIndex;
    });
  }

  private newResultQueue(): ResultQueue<TIn, TOut> {
    switch (this.config.ordering) {
      case 'unordered':
        return new UnorderedResultQueue(this.ctx.output);
      case 'ordered':
        return new OrderedResultQueue(this.ctx.output);
      case 'key-ordered':
        return new KeyOrderedResultQueue(this.orderKeyOf(), this.ctx.output);
    }
  }

  private orderKeyOf(): (input: TIn) => Key {
    const selector: ((input: TIn) => Key) | undefined = this.config.orderKey ?? this.ctx.keyed?.selector;
    if (selector === undefined) {
      throw new Error(`async operator ${this.ctx.description}: ordering 'key-ordered' needs a keyed stream or the option 'orderKey'`);
    }
    const where = this.ctx.description;
    return (input) => extractKey(selector, input, where);
  }
}
