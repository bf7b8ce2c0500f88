import {
  emitChunk,
  extractKey,
  functionForSubtask,
  type Key,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorSnapshot,
  type ProcessingTimeService,
} from '@tributary/core';
import { BatchAccumulator, type BatchOwner } from '../batching/BatchAccumulator.js';
import {
  AsyncBatchFailedError,
  AsyncTimeoutError,
  NonRetryableError,
  isRetryable,
  retryAfterOf,
} from '../errors.js';
import type {
  AsyncBatchFunction,
  AsyncFunction,
  BatchContext,
  DeadLetter,
  ResultFuture,
} from '../functions.js';
import type { AsyncOperatorConfig } from '../internal/config.js';
import { AsyncOperatorMetrics } from '../metrics.js';
import { OrderedResultQueue, type ResultSlot } from '../ordering/OrderedResultQueue.js';
import { AimdLimiter } from '../retry/AimdLimiter.js';
import { deadLettered, limitChanged, throttled } from '../operatorEvents.js';
import { RateLimiter } from '../retry/RateLimiter.js';

/**
 * The async operators' state in a checkpoint: every record not yet emitted,
 * as plain data. `input` entries are sent again after a restore (with fresh
 * attempt counters); `outputs` entries are results of the ordered modes that
 * were complete but waiting for earlier records.
 */
export interface AsyncOperatorState<TIn, TOut> {
  readonly version: 1;
  readonly entries: readonly AsyncStateEntry<TIn, TOut>[];
}

/** One record of an {@link AsyncOperatorState}. */
export type AsyncStateEntry<TIn, TOut> = { readonly input: TIn } | { readonly outputs: readonly TOut[]; readonly key?: Key };

type Slot<TIn, TOut> = ResultSlot<TIn, TOut>;

/** Records that travel together through calls, retries and splits. */
class Batch<TIn, TOut> {
  /** Calls made for these records so far. */
  attempts = 0;
  /** When all attempts must have ended (Infinity: no deadline); set at the first call. */
  deadlineAt = Number.POSITIVE_INFINITY;
  cancelRetry: (() => void) | undefined = undefined;
  /** The pending retry waits for a service's retry-after hint (kept at end of input). */
  throttledWait = false;

  constructor(
    readonly inputs: TIn[],
    /** The records' result slots in the ordered modes. */
    readonly slots: Slot<TIn, TOut>[] | undefined,
    readonly weight: number,
    /** Arrival of the first record, for batches formed from the input; NaN for retries and split halves. */
    readonly firstArrival: number,
  ) {}
}

const NOTHING = 0;
const VALUE = 1;
const ERROR = 2;

/**
 * One call of the user function (or of its `timeout()` hook): the context
 * and result future it is given. The first completion wins; a completion
 * during the call itself is handled right after it returns, in the same unit
 * of task work.
 */
class Call<TIn, TOut> implements BatchContext, ResultFuture<TOut> {
  settled = false;
  invoking = true;
  stash: typeof NOTHING | typeof VALUE | typeof ERROR = NOTHING;
  stashed: unknown = undefined;
  cancelTimer: (() => void) | undefined = undefined;
  /** Which time limit ends this call, and its length in ms (for the `AsyncTimeoutError`). */
  limitKind: AsyncTimeoutError['kind'] = 'attempt';
  limitMs = 0;
  /** Ended by its time limit, not by a completion. */
  timedOut = false;
  // Created on first use: most batch functions never read the signal, and an AbortController is not free.
  private controller: AbortController | undefined = undefined;
  private abortReason: { reason: unknown } | undefined = undefined;

  constructor(
    private readonly op: AsyncBatchWaitOperator<TIn, TOut>,
    readonly batch: Batch<TIn, TOut>,
    readonly attempt: number,
    readonly startedAt: number,
    /** A call of the `timeout()` hook, not of the function. */
    readonly hook: boolean,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = this.op.takeController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = { reason };
    this.controller?.abort(reason);
  }

  readonly complete = (outputs: readonly TOut[]): void => {
    this.op.settle(this, VALUE, outputs);
  };

  readonly completeExceptionally = (error: unknown): void => {
    this.op.settle(this, ERROR, error);
  };

  /** Completes a per-record plain function's call: its one output. */
  readonly completeOne = (output: TOut): void => {
    this.op.settle(this, VALUE, [output]);
  };
}

function recordsIn(batches: Iterable<Batch<unknown, unknown>>): number {
  let n = 0;
  for (const batch of batches) n += batch.inputs.length;
  return n;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * The async batch operator: batches records (size, weight, delay, per key),
 * calls the user function with at most `maxInFlightBatches` batches at once,
 * retries, times out, splits and applies the failure policy, and emits
 * results unordered, in order, or in order per key.
 *
 * Per-record async I/O (`unorderedWait`/`orderedWait`) is this operator with
 * batches of one: one call per record, `capacity` calls in flight, Flink's
 * timeout as the deadline of all attempts. Flink's `AsyncWaitOperator`
 * semantics (queue capacity, ordered emission, `timeout()` hook, retries)
 * carry over; where retries meet the deadline and the end of input, the
 * config's `retryRules` pick Flink's behaviour or the batch operators'.
 *
 * Every record counts against `capacity` from arrival until it was emitted
 * (or dead-lettered); at capacity the operator asks its task to hold back
 * input. All work triggered by promises and timers re-enters the task
 * through `ctx.task.execute`.
 */
export class AsyncBatchWaitOperator<TIn, TOut> implements OneInputStreamOperator<TIn>, BatchOwner<TIn, Slot<TIn, TOut>> {
  private readonly fn: unknown;
  private readonly accumulator: BatchAccumulator<TIn, Slot<TIn, TOut>>;
  private readonly ordered: OrderedResultQueue<TIn, TOut> | undefined;
  private readonly metrics: AsyncOperatorMetrics;
  private readonly limiter: AimdLimiter;
  private readonly rate: RateLimiter | undefined;
  private readonly timers: ProcessingTimeService;
  private readonly hasTimeoutHook: boolean;

  /** Batches formed from the input, waiting for a call slot or the rate limit. */
  private ready: Batch<TIn, TOut>[] = [];
  /** Retries and split halves that are due: they go before `ready`. */
  private retryReady: Batch<TIn, TOut>[] = [];
  /** Batches waiting for their retry timer. */
  private readonly waiting = new Set<Batch<TIn, TOut>>();
  /** Calls of the function in flight (timeout hooks are in `hooks`). */
  private readonly running = new Set<Call<TIn, TOut>>();

  /**
   * Records held: from arrival until emitted (or given up). While
   * `processChunk` adds a chunk it can dip below the true count, even below
   * zero: records of the chunk that complete synchronously are subtracted
   * before the chunk is counted (see `processChunk`). Read it after.
   */
  private outstanding = 0;
  /** Timeout hooks in flight (not calls: they take no call slot). */
  private readonly hooks = new Set<Call<TIn, TOut>>();

  private rateTimer: (() => void) | undefined = undefined;
  private releaseInput: (() => void) | undefined = undefined;
  private finish: (() => void) | undefined = undefined;
  private ending = false;
  private stopped = false;
  private pumping = false;
  /**
   * A controller made ahead for the next call's `ctx.signal`, once the
   * function has read one: creating an AbortController takes microseconds,
   * better spent after a completion's work than between it and the next call.
   */
  private spareController: AbortController | undefined = undefined;
  private signalsUsed = false;
  private restored: readonly AsyncStateEntry<TIn, TOut>[] | undefined = undefined;
  private readonly onJobAbort = (): void => {
    this.stop(this.ctx.task.signal.reason);
  };

  constructor(
    private readonly ctx: OperatorContext<TOut>,
    private readonly config: AsyncOperatorConfig<TIn, TOut>,
  ) {
    // Each subtask gets its own function object (a factory's instance, else a copy), as Flink deserializes one per subtask.
    this.fn = functionForSubtask(config.fn, config.kind === 'record-object' ? 'asyncInvoke' : 'asyncInvokeBatch');
    this.hasTimeoutHook =
      (config.kind === 'batch-object' || config.kind === 'record-object') &&
      typeof (this.fn as { timeout?: unknown }).timeout === 'function';
    this.timers = ctx.processingTimeService;
    this.ordered = config.ordering === 'unordered' ? undefined : new OrderedResultQueue<TIn, TOut>(this.orderKeyOf(), ctx.output);
    this.accumulator = new BatchAccumulator<TIn, Slot<TIn, TOut>>(config, this.timers, this.ordered, this);
    this.limiter = new AimdLimiter(config.maxInFlightBatches, limitChanged(ctx.log));
    this.rate = config.rateLimit === undefined ? undefined : new RateLimiter(config.rateLimit, ctx.clock);
    this.metrics = new AsyncOperatorMetrics(ctx.metrics, {
      inFlightBatches: () => this.running.size,
      bufferedRecords: () => this.accumulator.size + recordsIn(this.ready) + recordsIn(this.retryReady) + recordsIn(this.waiting),
      concurrencyLimit: () => this.limiter.limit,
    });
  }

  // ---------------------------------------------------------------- lifecycle

  initializeState(snapshot: OperatorSnapshot): void {
    const state = snapshot.operatorState as Partial<AsyncOperatorState<TIn, TOut>> | undefined;
    if (state === undefined) return;
    if (typeof state !== 'object' || state === null || state.version !== 1 || !Array.isArray(state.entries)) {
      throw new Error(`cannot restore async operator ${this.ctx.description}: its state is not an async operator snapshot (version 1)`);
    }
    this.restored = state.entries;
  }

  open(): void | Promise<void> {
    const signal = this.ctx.task.signal;
    if (signal.aborted) this.stop(signal.reason);
    else signal.addEventListener('abort', this.onJobAbort, { once: true });
    const opened = (this.fn as { open?: unknown }).open;
    const pending = typeof opened === 'function' ? (opened as (ctx: unknown) => unknown).call(this.fn, this.ctx.runtimeContext) : undefined;
    if (isThenable(pending)) return Promise.resolve(pending).then(() => this.replayRestored());
    this.replayRestored();
  }

  processElement(value: TIn): void {
    if (this.stopped) return;
    this.outstanding++;
    this.accumulator.add(value);
    if (this.outstanding >= this.config.capacity) this.checkProgress();
  }

  /** The task hands over at most `max(1, freeCapacity())` records: one more only when a restore left the operator over `capacity`. */
  processChunk(values: readonly TIn[]): void {
    if (this.stopped) return;
    this.accumulator.addAll(values);
    // Counted once they are in: counted before, records not yet added would make a batch that
    // completes synchronously mid-chunk see a full, idle operator and flush open batches early.
    this.outstanding += values.length;
    if (this.outstanding >= this.config.capacity) this.checkProgress();
  }

  freeCapacity(): number {
    return this.config.capacity - this.outstanding;
  }

  /**
   * Sends every partial batch, fires pending retries at once (as Flink does
   * at end of input; a retry that waits for a service's retry-after hint
   * keeps its wait, since firing it early would only be throttled again),
   * and resolves once every record was emitted or given up. Under Flink's
   * rules (per-record operators) each of those retries is the last attempt.
   */
  endInput(): void | Promise<void> {
    if (this.stopped) return;
    this.ending = true;
    this.accumulator.flushAll();
    for (const batch of [...this.waiting]) {
      if (batch.throttledWait) continue;
      batch.cancelRetry?.();
      batch.cancelRetry = undefined;
      this.waiting.delete(batch);
      this.retryReady.push(batch);
    }
    this.pump();
    if (this.outstanding === 0 || this.stopped) return;
    return new Promise<void>((resolve) => {
      this.finish = resolve;
    });
  }

  /** Aborts every call still running, drops timers and buffers, then closes the user function. */
  close(): void | Promise<void> {
    this.stop(new Error(`async operator ${this.ctx.description} closed`));
    this.ctx.task.signal.removeEventListener('abort', this.onJobAbort);
    const closeFn = (this.fn as { close?: unknown }).close;
    if (typeof closeFn === 'function') return (closeFn as () => void | Promise<void>).call(this.fn);
  }

  snapshotState(): AsyncOperatorState<TIn, TOut> {
    const entries: AsyncStateEntry<TIn, TOut>[] = [];
    if (this.ordered !== undefined) {
      const keyed = this.config.ordering === 'key-ordered';
      for (const slot of this.ordered.slots()) {
        if (slot.pending) entries.push({ input: slot.input });
        else {
          const outputs = OrderedResultQueue.outputsOf(slot);
          if (outputs.length > 0) entries.push(keyed ? { outputs: [...outputs], key: slot.lane.key as Key } : { outputs: [...outputs] });
        }
      }
    } else {
      const batches = [...[...this.running, ...this.hooks].map((c) => c.batch), ...this.waiting, ...this.retryReady, ...this.ready];
      for (const batch of batches) for (const input of batch.inputs) entries.push({ input });
      for (const input of this.accumulator.records()) entries.push({ input });
    }
    return { version: 1, entries };
  }

  // ------------------------------------------------------------- dispatching

  /** A batch closed (by size, weight, delay or end of input): it joins the ready queue. Called by the accumulator only. */
  batchClosed(records: TIn[], slots: Slot<TIn, TOut>[] | undefined, weight: number, firstArrival: number): void {
    this.ready.push(new Batch(records, slots, weight, firstArrival));
    this.pump();
  }

  /** Starts calls while a call slot is free and the rate limit allows, then checks flow control. */
  private pump(): void {
    this.dispatchReady();
    this.checkProgress();
  }

  /** Starts calls while a call slot is free and the rate limit allows. */
  private dispatchReady(): void {
    // Completions handled inside a call (synchronous results) come back here; the running loop picks up their effects.
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      for (;;) {
        const queue = this.retryReady.length > 0 ? this.retryReady : this.ready;
        const batch = queue[0];
        if (batch === undefined || this.running.size >= this.limiter.limit) break;
        if (this.ctx.clock.now() >= batch.deadlineAt) {
          queue.shift();
          this.deadlinePassed(batch);
          continue;
        }
        if (this.rate !== undefined) {
          const wait = this.rate.tryAcquire(batch.inputs.length);
          if (wait > 0) {
            this.rateTimer ??= this.timers.registerTimer(this.ctx.clock.now() + wait, () => {
              this.rateTimer = undefined;
              this.pump();
            });
            break;
          }
        }
        queue.shift();
        this.dispatch(batch);
      }
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(batch: Batch<TIn, TOut>): void {
    const now = this.ctx.clock.now();
    const n = batch.inputs.length;
    const m = this.metrics;
    batch.attempts++;
    if (batch.attempts === 1) {
      if (this.config.deadline !== Number.POSITIVE_INFINITY) batch.deadlineAt = now + this.config.deadline;
      if (!Number.isNaN(batch.firstArrival)) m.queueWaitMs.update(now - batch.firstArrival);
    } else {
      m.retries.count++;
    }
    m.batches.count++;
    m.records.count += n;
    m.batchSize.update(n);
    m.batchWeight.update(batch.weight);

    const call = new Call(this, batch, batch.attempts, now, false);
    this.running.add(call);
    const limitAt = Math.min(now + this.config.timeout, batch.deadlineAt);
    if (limitAt !== Number.POSITIVE_INFINITY) {
      if (limitAt === batch.deadlineAt) this.limitCall(call, limitAt, 'deadline', this.config.deadline);
      else this.limitCall(call, limitAt, 'attempt', this.config.timeout);
    }
    this.invoke(call);
  }

  /** Ends `call` at `at` with an `AsyncTimeoutError` of `kind` (a limit of `ms`), unless it completes first. */
  private limitCall(call: Call<TIn, TOut>, at: number, kind: AsyncTimeoutError['kind'], ms: number): void {
    call.limitKind = kind;
    call.limitMs = ms;
    call.cancelTimer = this.timers.registerTimer(at, () => {
      this.onCallTimeout(call);
    });
  }

  private invoke(call: Call<TIn, TOut>): void {
    const inputs = call.batch.inputs;
    try {
      switch (this.config.kind) {
        case 'batch-function': {
          const result = (this.fn as (inputs: readonly TIn[], ctx: BatchContext) => unknown)(inputs, call);
          if (isThenable(result)) result.then(call.complete as (v: unknown) => void, call.completeExceptionally);
          else call.complete(result as readonly TOut[]);
          break;
        }
        case 'batch-object': {
          const result = (this.fn as AsyncBatchFunction<TIn, TOut>).asyncInvokeBatch(inputs, call, call);
          if (isThenable(result)) result.then(undefined, call.completeExceptionally);
          break;
        }
        case 'record-function': {
          const result = (this.fn as (input: TIn, ctx: BatchContext) => unknown)(inputs[0] as TIn, call);
          if (isThenable(result)) result.then(call.completeOne as (v: unknown) => void, call.completeExceptionally);
          else call.completeOne(result as TOut);
          break;
        }
        case 'record-object': {
          const result = (this.fn as AsyncFunction<TIn, TOut>).asyncInvoke(inputs[0] as TIn, call, call);
          if (isThenable(result)) result.then(undefined, call.completeExceptionally);
          break;
        }
      }
    } catch (error) {
      call.completeExceptionally(error);
    }
    this.afterInvoke(call);
  }

  /**
   * Calls the `timeout()` hook of a batch that ran out of time; its completion decides the batch's result.
   * The hook gets as long as the limit that ran out: a hook that never completes would hold its records for ever.
   */
  private invokeTimeoutHook(batch: Batch<TIn, TOut>, expired: AsyncTimeoutError): void {
    const now = this.ctx.clock.now();
    const call = new Call(this, batch, batch.attempts, now, true);
    this.hooks.add(call);
    if (Number.isFinite(expired.timeoutMs)) this.limitCall(call, now + expired.timeoutMs, 'hook', expired.timeoutMs);
    try {
      if (this.config.kind === 'batch-object') (this.fn as AsyncBatchFunction<TIn, TOut>).timeout?.(batch.inputs, call);
      else (this.fn as AsyncFunction<TIn, TOut>).timeout?.(batch.inputs[0] as TIn, call);
    } catch (error) {
      call.completeExceptionally(error);
    }
    this.afterInvoke(call);
  }

  private afterInvoke(call: Call<TIn, TOut>): void {
    call.invoking = false;
    if (call.stash !== NOTHING) this.finishCall(call, call.stash, call.stashed);
  }

  /** @internal A call completed (from its result future): the first completion wins. */
  settle(call: Call<TIn, TOut>, kind: typeof VALUE | typeof ERROR, value: unknown): void {
    if (call.settled || this.stopped) return;
    call.settled = true;
    if (call.invoking) {
      call.stash = kind;
      call.stashed = value;
      return;
    }
    // Called from a promise callback: a throw here would become an unhandled rejection, so it is the task's to report.
    try {
      this.ctx.task.execute(() => {
        this.finishCall(call, kind, value);
      }, this.ctx.description);
    } catch (error) {
      this.ctx.task.fail(error, this.ctx.description);
    }
  }

  private onCallTimeout(call: Call<TIn, TOut>): void {
    if (call.settled || this.stopped) return;
    call.settled = true;
    call.timedOut = true;
    call.cancelTimer = undefined;
    const error = new AsyncTimeoutError(call.limitKind, call.limitMs);
    call.abort(error);
    this.metrics.timeouts.count++;
    if (call.invoking) {
      call.stash = ERROR;
      call.stashed = error;
      return;
    }
    this.finishCall(call, ERROR, error);
  }

  /** @internal The controller of a call's signal: the spare one if ready. */
  takeController(): AbortController {
    this.signalsUsed = true;
    const controller = this.spareController ?? new AbortController();
    this.spareController = undefined;
    return controller;
  }

  private finishCall(call: Call<TIn, TOut>, kind: typeof VALUE | typeof ERROR, value: unknown): void {
    if (this.stopped || !(call.hook ? this.hooks : this.running).delete(call)) return;
    const batch = call.batch;
    call.cancelTimer?.();
    call.cancelTimer = undefined;
    if (call.hook) {
      // The hook's answer is final: no retry, no split, no second hook call.
      if (kind === VALUE) this.onOutputs(batch, value, false);
      else this.failAll(batch, value);
    } else {
      if (!call.timedOut) this.metrics.callLatencyMs.update(this.ctx.clock.now() - call.startedAt);
      if (kind === VALUE) {
        this.onOutputs(batch, value, true);
      } else {
        this.metrics.failures.count++;
        this.onError(batch, value);
      }
    }
    this.pump();
    if (this.signalsUsed && this.spareController === undefined && !this.stopped) this.spareController = new AbortController();
  }

  // ------------------------------------------------------------------ results

  private onOutputs(batch: Batch<TIn, TOut>, outputs: unknown, mayRetry: boolean): void {
    if (!Array.isArray(outputs)) {
      this.onUnusableOutputs(batch, `the async function must complete with an array of outputs, got ${typeof outputs}`, mayRetry);
      return;
    }
    if (this.config.perItem) {
      this.onItemOutputs(batch, outputs as readonly unknown[], mayRetry);
      return;
    }
    if (mayRetry && batch.attempts < this.config.retry.maxAttempts && this.config.retry.retryOnResult(outputs as readonly TOut[])) {
      const delay = this.nextAttemptDelay(batch, undefined);
      if (delay !== undefined) {
        this.scheduleRetry(batch, delay, false);
        return;
      }
    }
    if (mayRetry) {
      this.limiter.onSuccess();
      if (!this.takeFreedSlot()) return;
    }
    this.resolveBatch(batch, outputs as readonly TOut[]);
  }

  /**
   * A call succeeded and its retries and throttling are decided: its slot
   * takes the next batch (retries first) before the outputs go down the
   * chain, so the service gets its next call without waiting for the sink.
   * Flow control waits until the outputs are out: until then the operator
   * still holds the batch's records. Returns false when that next batch
   * failed the job at once: a stopped operator emits nothing more.
   */
  private takeFreedSlot(): boolean {
    this.dispatchReady();
    return !this.stopped;
  }

  private onItemOutputs(batch: Batch<TIn, TOut>, outputs: readonly unknown[], mayRetry: boolean): void {
    const n = batch.inputs.length;
    if (outputs.length !== n) {
      this.onUnusableOutputs(batch, `in per-item mode the batch function must return one output per input: got ${outputs.length} outputs for ${n} inputs`, mayRetry);
      return;
    }
    const retry = this.config.retry;
    let retryAfter: number | undefined;
    let failed = 0;
    for (const output of outputs) {
      if (output instanceof Error) {
        failed++;
        const after = retryAfterOf(output);
        if (after !== undefined) retryAfter = Math.max(retryAfter ?? 0, after);
      }
    }
    this.metrics.failedItems.count += failed;
    if (mayRetry) {
      if (retryAfter !== undefined) this.noteThrottle();
      else this.limiter.onSuccess();
    }
    // One wait for all retried items: they go again together, as one batch.
    const delay = mayRetry ? this.nextAttemptDelay(batch, retryAfter) : undefined;
    let again: number[] | undefined;
    let lost: number[] | undefined;
    let errors: unknown[] | undefined;
    for (let i = 0; i < n; i++) {
      const output = outputs[i];
      if (output instanceof Error) {
        if (delay !== undefined && isRetryable(output) && retry.retryOnError(output, batch.attempts)) (again ??= []).push(i);
        else {
          (lost ??= []).push(i);
          (errors ??= []).push(output);
        }
      } else if (delay !== undefined && retry.retryOnResult([output as TOut])) {
        (again ??= []).push(i);
      }
    }
    if (again !== undefined) {
      const child = this.subBatch(batch, again);
      child.attempts = batch.attempts;
      child.deadlineAt = batch.deadlineAt;
      this.scheduleRetry(child, delay as number, retryAfter !== undefined);
    }
    if (mayRetry && !this.takeFreedSlot()) return;
    // Every item neither retried nor lost is done; `again` and `lost` hold ascending indices.
    for (let i = 0, a = 0, l = 0; i < n; i++) {
      if (again?.[a] === i) a++;
      else if (lost?.[l] === i) l++;
      else this.resolveItem(batch, i, outputs[i] as TOut);
    }
    if (lost !== undefined) this.applyFailurePolicy(batch, lost, errors as unknown[]);
  }

  /** Outputs the operator cannot use: a failure, never retried; a `timeout()` hook's answer is final, so no split either. */
  private onUnusableOutputs(batch: Batch<TIn, TOut>, message: string, mayRetry: boolean): void {
    this.metrics.failures.count++;
    const error = new NonRetryableError(message);
    if (mayRetry) this.onError(batch, error);
    else this.failAll(batch, error);
  }

  private onError(batch: Batch<TIn, TOut>, error: unknown): void {
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== undefined) this.noteThrottle();
    const retry = this.config.retry;
    if (isRetryable(error) && batch.attempts < retry.maxAttempts && retry.retryOnError(error, batch.attempts)) {
      const delay = this.nextAttemptDelay(batch, retryAfter);
      if (delay !== undefined) {
        this.scheduleRetry(batch, delay, retryAfter !== undefined);
        return;
      }
    }
    this.giveUp(batch, error);
  }

  /** A service asked to slow down: count it and lower the concurrency limit. */
  private noteThrottle(): void {
    this.metrics.throttled.count++;
    this.limiter.onThrottle();
    throttled(this.ctx.log, this.limiter.limit);
  }

  /** The batch failed for good: split it, ask the timeout hook, or apply the failure policy. */
  private giveUp(batch: Batch<TIn, TOut>, error: unknown): void {
    const n = batch.inputs.length;
    const deadline = error instanceof AsyncTimeoutError && error.kind === 'deadline';
    if (this.config.splitOnFailure && n > 1 && !deadline) {
      const mid = Math.ceil(n / 2);
      for (const [from, to] of [
        [0, mid],
        [mid, n],
      ] as const) {
        const inputs = batch.inputs.slice(from, to);
        const half = new Batch(inputs, batch.slots?.slice(from, to), this.weightOf(inputs), Number.NaN);
        this.retryReady.push(half);
      }
      return;
    }
    if (error instanceof AsyncTimeoutError && this.hasTimeoutHook) {
      this.invokeTimeoutHook(batch, error);
      return;
    }
    this.failAll(batch, error);
  }

  /** Every record of the batch goes to the failure policy with `error`. */
  private failAll(batch: Batch<TIn, TOut>, error: unknown): void {
    const n = batch.inputs.length;
    const all: number[] = [];
    const errors: unknown[] = [];
    for (let i = 0; i < n; i++) {
      all.push(i);
      errors.push(error);
    }
    this.applyFailurePolicy(batch, all, errors);
  }

  private applyFailurePolicy(batch: Batch<TIn, TOut>, indices: readonly number[], errors: readonly unknown[]): void {
    const policy = this.config.onFailure;
    if (policy === 'fail') {
      const error = new AsyncBatchFailedError(indices.length, batch.inputs.length, batch.attempts, errors[0]);
      this.ctx.task.fail(error, this.ctx.description);
      this.stop(error);
      return;
    }
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      const input = batch.inputs[i] as TIn;
      const error = errors[k];
      if ('deadLetter' in policy) {
        const letter: DeadLetter<TIn> = { input, error, attempts: batch.attempts };
        this.ctx.output.collectSide(policy.deadLetter, letter);
        this.metrics.deadLettered.count++;
        deadLettered(this.ctx.log, error, batch.attempts);
        this.resolveItemWith(batch, i, undefined);
      } else {
        const outputs = policy.fallback(input, error);
        if (!Array.isArray(outputs)) throw new TypeError(`the onFailure fallback must return an array of outputs, got ${typeof outputs}`);
        this.resolveItemWith(batch, i, outputs);
      }
    }
  }

  /** Collect mode: the batch's outputs, emitted now or at its first record's place in line. */
  private resolveBatch(batch: Batch<TIn, TOut>, outputs: readonly TOut[]): void {
    const slots = batch.slots;
    if (slots === undefined) {
      // The whole batch's outputs go down the chain in one call.
      emitChunk(this.ctx.output, outputs);
      this.outstanding -= batch.inputs.length;
      return;
    }
    // Collect mode is single-lane (key-ordered needs per-item results), so one drain covers every slot.
    const first = slots[0] as Slot<TIn, TOut>;
    first.resolveMany(outputs);
    for (let i = 1; i < slots.length; i++) (slots[i] as Slot<TIn, TOut>).resolveNone();
    this.outstanding -= (this.ordered as OrderedResultQueue<TIn, TOut>).drain(first);
  }

  /** Per-item mode: item `i`'s single output. */
  private resolveItem(batch: Batch<TIn, TOut>, i: number, output: TOut): void {
    const slot = batch.slots?.[i];
    if (slot === undefined) {
      this.ctx.output.collect(output);
      this.outstanding--;
      return;
    }
    slot.resolveOne(output);
    this.outstanding -= (this.ordered as OrderedResultQueue<TIn, TOut>).drain(slot);
  }

  /** Record `i` ends with `outputs` (a fallback's) or with nothing (dead-lettered). */
  private resolveItemWith(batch: Batch<TIn, TOut>, i: number, outputs: readonly TOut[] | undefined): void {
    const slot = batch.slots?.[i];
    if (slot === undefined) {
      if (outputs !== undefined) emitChunk(this.ctx.output, outputs);
      this.outstanding--;
      return;
    }
    if (outputs === undefined) slot.resolveNone();
    else slot.resolveMany(outputs);
    this.outstanding -= (this.ordered as OrderedResultQueue<TIn, TOut>).drain(slot);
  }

  // ------------------------------------------------------------------ retries

  /**
   * The wait before another attempt of `batch`, or undefined when there is
   * none: no attempt left, after end of input when outcomes are final there,
   * or the wait would pass its deadline. When the rules say so, a wait that
   * would pass the deadline lasts until the deadline instead, which then
   * times the batch out. A service's retry-after hint replaces the backoff;
   * at end of input there is no wait (as in Flink) except such a hint.
   */
  private nextAttemptDelay(batch: Batch<TIn, TOut>, retryAfter: number | undefined): number | undefined {
    const rules = this.config.retryRules;
    if (batch.attempts >= this.config.retry.maxAttempts || (this.ending && rules.finalAfterEndOfInput)) return undefined;
    const delay = retryAfter ?? (this.ending ? 0 : this.config.retry.backoff(batch.attempts));
    const now = this.ctx.clock.now();
    if (now + delay < batch.deadlineAt) return delay;
    return rules.waitForDeadline && now < batch.deadlineAt ? batch.deadlineAt - now : undefined;
  }

  private scheduleRetry(batch: Batch<TIn, TOut>, delay: number, throttled: boolean): void {
    if (delay <= 0) {
      this.retryReady.push(batch);
      return;
    }
    batch.throttledWait = throttled;
    this.waiting.add(batch);
    batch.cancelRetry = this.timers.registerTimer(this.ctx.clock.now() + delay, () => {
      if (!this.waiting.delete(batch)) return;
      batch.cancelRetry = undefined;
      // A wait that reached the deadline (see `nextAttemptDelay`) ends in the timeout, without waiting for a call slot.
      if (this.ctx.clock.now() >= batch.deadlineAt) this.deadlinePassed(batch);
      else this.retryReady.push(batch);
      this.pump();
    });
  }

  /** The batch's deadline passed between attempts: the timeout decides it (the `timeout()` hook or the failure policy). */
  private deadlinePassed(batch: Batch<TIn, TOut>): void {
    this.metrics.timeouts.count++;
    this.giveUp(batch, new AsyncTimeoutError('deadline', this.config.deadline));
  }

  private subBatch(batch: Batch<TIn, TOut>, indices: readonly number[]): Batch<TIn, TOut> {
    const inputs = indices.map((i) => batch.inputs[i] as TIn);
    const slots = batch.slots === undefined ? undefined : indices.map((i) => (batch.slots as Slot<TIn, TOut>[])[i] as Slot<TIn, TOut>);
    return new Batch(inputs, slots, this.weightOf(inputs), Number.NaN);
  }

  private weightOf(inputs: readonly TIn[]): number {
    const weigher = this.config.weigher;
    if (weigher === undefined) return 0;
    let sum = 0;
    for (const input of inputs) sum += weigher(input);
    return sum;
  }

  // -------------------------------------------------------------- flow control

  /**
   * Runs after every change: lets input flow again once there is room, and
   * when the operator is full with nothing in flight or queued (all held
   * records sit in open batches, or wait behind them in order) sends the
   * open batches, since no completion would ever make room otherwise.
   * Resolves `endInput` once everything was emitted.
   */
  private checkProgress(): void {
    if (this.stopped) return;
    if (this.outstanding >= this.config.capacity) {
      const idle = this.running.size === 0 && this.hooks.size === 0 && this.ready.length === 0 && this.retryReady.length === 0 && this.waiting.size === 0;
      if (idle && this.accumulator.size > 0) this.accumulator.flushAll();
      if (this.outstanding >= this.config.capacity && this.releaseInput === undefined) {
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
    if (this.ending && this.outstanding === 0 && this.finish !== undefined) {
      const finish = this.finish;
      this.finish = undefined;
      finish();
    }
  }

  /** Stops all work: aborts running calls, drops timers, queues and buffers, and releases every waiter. */
  private stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const call of this.running) {
      call.cancelTimer?.();
      call.abort(reason);
    }
    this.running.clear();
    for (const call of this.hooks) {
      call.cancelTimer?.();
      call.abort(reason);
    }
    this.hooks.clear();
    for (const batch of this.waiting) batch.cancelRetry?.();
    this.waiting.clear();
    this.rateTimer?.();
    this.rateTimer = undefined;
    this.accumulator.dispose();
    this.ordered?.clear();
    this.ready = [];
    this.retryReady = [];
    this.releaseInput?.();
    this.releaseInput = undefined;
    this.finish?.();
    this.finish = undefined;
  }

  private replayRestored(): void {
    const entries = this.restored;
    this.restored = undefined;
    if (entries === undefined || this.stopped) return;
    for (const entry of entries) {
      this.outstanding++;
      if ('input' in entry) {
        this.accumulator.add(entry.input);
      } else if (this.ordered !== undefined) {
        this.outstanding -= this.ordered.drain(this.ordered.appendCompleted(entry));
      } else {
        emitChunk(this.ctx.output, entry.outputs);
        this.outstanding--;
      }
    }
    // Restored records go out at once rather than waiting for new input to fill their batches.
    this.accumulator.flushAll();
    this.checkProgress();
  }

  private orderKeyOf(): ((input: TIn) => Key) | undefined {
    if (this.config.ordering !== 'key-ordered') return undefined;
    const selector: ((input: TIn) => Key) | undefined = this.config.orderKey ?? this.ctx.keyed?.selector;
    if (selector === undefined) {
      throw new Error(`async operator ${this.ctx.description}: ordering 'key-ordered' needs a keyed stream or the option 'orderKey'`);
    }
    const where = this.ctx.description;
    return (input) => extractKey(selector, input, where);
  }
}
