import type { MetricGroup, OperatorContext } from '@tributary/core';
import { AsyncTimeoutError } from '../errors.js';
import type { AsyncOperatorConfig } from '../internal/config.js';
import type { AsyncOperatorMetrics } from '../metrics.js';
import { limitChanged } from '../operatorEvents.js';
import { AimdLimiter } from '../retry/AimdLimiter.js';
import { RateLimiter } from '../retry/RateLimiter.js';
import { recordsIn, type Batch } from './Batch.js';
import { Call, ERROR, type CallOwner, type Completion } from './Call.js';
import type { Invoker } from './Invoker.js';

/** What the dispatcher reports to: the operator, which hands outcomes to the attempt controller. */
export interface DispatcherOwner<TIn, TOut> {
  /** A call (or a `timeout()` hook's call) ended, in task work; `value` is its outputs or error. */
  callEnded(call: Call<TIn, TOut>, kind: Completion, value: unknown): void;
  /** A batch's deadline passed while it waited for a call slot or the rate limit. */
  deadlinePassed(batch: Batch<TIn, TOut>): void;
  /** Calls were started or ended: flow control may change. */
  pump(): void;
}

/** The dispatcher's view of the task and operator it runs in. */
export type DispatcherContext = Pick<OperatorContext<unknown>, 'clock' | 'processingTimeService' | 'task' | 'description' | 'log' | 'metrics'>;

/**
 * Starts calls: batches wait in line (retries and split halves first) for
 * a call slot under the in-flight cap, lowered by AIMD while the service
 * throttles, and for the rate limits; each call gets its time limit (the
 * attempt's `timeout` or the batch's deadline, whichever comes first).
 */
export class Dispatcher<TIn, TOut> implements CallOwner<TIn, TOut> {
  /** The in-flight cap under throttling. */
  readonly limiter: AimdLimiter;
  /** Batches formed from the input, waiting for a call slot or the rate limit. */
  private ready: Batch<TIn, TOut>[] = [];
  /** Retries and split halves that are due: they go before `ready`. */
  private retryReady: Batch<TIn, TOut>[] = [];
  /** Calls of the function in flight. */
  private readonly running = new Set<Call<TIn, TOut>>();
  /** Timeout hooks in flight: they take no call slot. */
  private readonly hooks = new Set<Call<TIn, TOut>>();
  private readonly rate: RateLimiter | undefined;
  private rateTimer: (() => void) | undefined = undefined;
  /** Completions waiting in the mailbox: no call starts before they are handled, since one may fail the job. */
  private unhandled = 0;
  /** A controller made after a completion for the next call's `ctx.signal`, once the function has read one (it costs microseconds). */
  private spareController: AbortController | undefined = undefined;
  private signalsUsed = false;

  constructor(
    private readonly config: AsyncOperatorConfig<TIn, TOut>,
    private readonly ctx: DispatcherContext,
    private readonly invoker: Invoker<TIn, TOut>,
    private readonly metrics: AsyncOperatorMetrics,
    private readonly owner: DispatcherOwner<TIn, TOut>,
  ) {
    this.limiter = new AimdLimiter(config.maxInFlightBatches, limitChanged(ctx.log));
    this.rate = config.rateLimit === undefined ? undefined : new RateLimiter(config.rateLimit, ctx.clock);
  }

  get metricGroup(): MetricGroup {
    return this.ctx.metrics;
  }

  /** Calls running now (hooks excluded). */
  get inFlight(): number {
    return this.running.size;
  }

  /** A call could start now: a slot is free and no batch waits in line (a rate limit aside). */
  get callSlotFree(): boolean {
    return this.running.size < this.limiter.limit && this.ready.length === 0 && this.retryReady.length === 0;
  }

  /** Records waiting for a call slot. */
  get queuedRecords(): number {
    return recordsIn(this.ready) + recordsIn(this.retryReady);
  }

  /** Whether the function has Flink's `timeout()` hook. */
  get hasTimeoutHook(): boolean {
    return this.invoker.hasTimeoutHook;
  }

  /** A completion waits in the mailbox: its mail starts the next calls (see `settle`). */
  get completionsPending(): boolean {
    return this.unhandled !== 0;
  }

  /** No call or hook runs and no batch waits for one. */
  get idle(): boolean {
    return this.running.size === 0 && this.hooks.size === 0 && this.ready.length === 0 && this.retryReady.length === 0;
  }

  /** A batch formed from the input joins the line. */
  enqueue(batch: Batch<TIn, TOut>): void {
    this.ready.push(batch);
  }

  /** A retry or split half is due: it goes before the input's batches. */
  enqueueRetry(batch: Batch<TIn, TOut>): void {
    this.retryReady.push(batch);
  }

  /** Every batch in a call, a hook or in line, calls first (for snapshots). */
  *batches(): Generator<Batch<TIn, TOut>> {
    for (const call of this.running) yield call.batch;
    for (const call of this.hooks) yield call.batch;
  }

  /** Batches in line, retries first (for snapshots, after the retry timers' batches). */
  *queued(): Generator<Batch<TIn, TOut>> {
    yield* this.retryReady;
    yield* this.ready;
  }

  /** Starts calls while a call slot is free and the rate limit allows. */
  dispatchReady(): void {
    // After `stop` the line is empty, so nothing starts; completions come as mails,
    // so a call completing during itself cannot start a nested loop here.
    for (;;) {
      const queue = this.retryReady.length > 0 ? this.retryReady : this.ready;
      const batch = queue[0];
      if (batch === undefined || this.running.size >= this.limiter.limit || this.unhandled !== 0) break;
      if (this.ctx.clock.now() >= batch.deadlineAt) {
        queue.shift();
        this.owner.deadlinePassed(batch);
        continue;
      }
      if (this.rate !== undefined) {
        const wait = this.rate.tryAcquire(batch.inputs.length);
        if (wait > 0) {
          this.rateTimer ??= this.ctx.processingTimeService.registerTimer(this.ctx.clock.now() + wait, () => {
            this.rateTimer = undefined;
            this.owner.pump();
          });
          break;
        }
      }
      queue.shift();
      this.start(batch);
    }
  }

  /**
   * Calls the `timeout()` hook of a batch that ran out of time; its completion decides the batch's result.
   * The hook gets as long as the limit that ran out: a hook that never completes would hold its records for ever.
   */
  startHook(batch: Batch<TIn, TOut>, expired: AsyncTimeoutError): void {
    const now = this.ctx.clock.now();
    const call = new Call(this, batch, batch.attempts, now, true);
    this.hooks.add(call);
    if (Number.isFinite(expired.timeoutMs)) this.limitCall(call, now + expired.timeoutMs, 'hook', expired.timeoutMs);
    this.invoker.timeout(batch.inputs, call);
  }

  /** Aborts every call and hook still running and drops the batches in line. */
  stop(reason: unknown): void {
    for (const calls of [this.running, this.hooks]) {
      for (const call of calls) {
        call.cancelTimer?.();
        call.abort(reason);
      }
      calls.clear();
    }
    this.rateTimer?.();
    this.rateTimer = undefined;
    this.ready = [];
    this.retryReady = [];
    this.unhandled = 0;
  }

  /**
   * A completion runs as a mail: one made during the call itself waits until
   * the action that started it returns, and no call starts meanwhile (a call
   * that failed at once must stop the job before the next one is made).
   */
  settle(call: Call<TIn, TOut>, kind: Completion, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.unhandled++;
    this.ctx.task.execute(() => {
      this.unhandled--;
      this.finish(call, kind, value);
    }, this.ctx.description);
  }

  takeController(): AbortController {
    this.signalsUsed = true;
    const controller = this.spareController ?? new AbortController();
    this.spareController = undefined;
    return controller;
  }

  private start(batch: Batch<TIn, TOut>): void {
    const now = this.ctx.clock.now();
    const n = batch.inputs.length;
    const m = this.metrics;
    batch.attempts++;
    if (batch.attempts === 1) {
      if (this.config.deadline !== Number.POSITIVE_INFINITY) batch.deadlineAt = now + this.config.deadline;
      if (!Number.isNaN(batch.firstArrival)) m.queueWaitMs.update(now - batch.firstArrival);
    }
    // A deduping invoker counts the calls it makes itself (retries too): the cache may answer some records or all.
    if (!this.invoker.countsCalls) {
      m.countCall(n, batch.weight);
      if (batch.attempts > 1) m.retries.count++;
    }

    const call = new Call(this, batch, batch.attempts, now, false);
    this.running.add(call);
    const limitAt = Math.min(now + this.config.timeout, batch.deadlineAt);
    if (limitAt !== Number.POSITIVE_INFINITY) {
      if (limitAt === batch.deadlineAt) this.limitCall(call, limitAt, 'deadline', this.config.deadline);
      else this.limitCall(call, limitAt, 'attempt', this.config.timeout);
    }
    this.invoker.invoke(batch.inputs, call);
  }

  /** Ends `call` at `at` with an `AsyncTimeoutError` of `kind` (a limit of `ms`), unless it completes first. */
  private limitCall(call: Call<TIn, TOut>, at: number, kind: AsyncTimeoutError['kind'], ms: number): void {
    call.limitKind = kind;
    call.limitMs = ms;
    call.cancelTimer = this.ctx.processingTimeService.registerTimer(at, () => {
      this.timedOut(call);
    });
  }

  private timedOut(call: Call<TIn, TOut>): void {
    if (call.settled) return;
    call.settled = true;
    call.timedOut = true;
    call.cancelTimer = undefined;
    const error = new AsyncTimeoutError(call.limitKind, call.limitMs);
    call.abort(error);
    this.metrics.timeouts.count++;
    this.finish(call, ERROR, error);
  }

  private finish(call: Call<TIn, TOut>, kind: Completion, value: unknown): void {
    // A call of a stopped operator was dropped from its set.
    if (!(call.hook ? this.hooks : this.running).delete(call)) return;
    call.cancelTimer?.();
    call.cancelTimer = undefined;
    if (!call.hook && !call.timedOut) this.metrics.callLatencyMs.update(this.ctx.clock.now() - call.startedAt);
    this.owner.callEnded(call, kind, value);
    this.owner.pump();
    if (this.signalsUsed && this.spareController === undefined) this.spareController = new AbortController();
  }
}
