import { describeValue, type OperatorContext } from '@tributary/core';
import type { CallOutcome } from '../batching/BatchPolicy.js';
import { AsyncBatchFailedError, AsyncTimeoutError, NonRetryableError, isRetryable, retryAfterOf } from '../errors.js';
import type { DeadLetter } from '../functions.js';
import type { AsyncOperatorConfig } from '../internal/config.js';
import type { AsyncOperatorMetrics } from '../metrics.js';
import { deadLettered, throttled } from '../operatorEvents.js';
import type { ResultQueue } from '../ordering/ResultQueue.js';
import { recordsIn, type Batch } from './Batch.js';
import { VALUE, type Call, type Completion } from './Call.js';
import type { Dispatcher } from './Dispatcher.js';

/** What the attempt controller needs from its operator. */
export interface AttemptOwner {
  /** A retry timer fired: start what is due and check flow control. */
  pump(): void;
}

/**
 * Decides what a call's outcome means for its records: retry (backoff,
 * retry-after hints, the deadline), split a failed batch in halves, ask the
 * `timeout()` hook, apply the failure policy, or hand results to the result queue.
 */
export class AttemptController<TIn, TOut> {
  /** After end of input: retries wait no longer (and, under Flink's rules, are final). */
  private ending = false;
  /** Batches waiting for their retry timer. */
  private readonly waiting = new Set<Batch<TIn, TOut>>();
  /** Batches whose outputs wait in a mail behind a completion (see `emitAfterFreedSlot`). */
  private emitting = 0;
  /** The call being handled carried a retry-after hint (for its outcome). */
  private throttledCall = false;

  constructor(
    private readonly config: AsyncOperatorConfig<TIn, TOut>,
    private readonly ctx: OperatorContext<TOut>,
    private readonly metrics: AsyncOperatorMetrics,
    private readonly dispatcher: Dispatcher<TIn, TOut>,
    private readonly queue: ResultQueue<TIn, TOut>,
    private readonly owner: AttemptOwner,
  ) {}

  /** Records waiting for a retry timer. */
  get waitingRecords(): number {
    return recordsIn(this.waiting);
  }

  /** No retry timer is pending and no outputs wait to go out. */
  get idle(): boolean {
    return this.waiting.size === 0 && this.emitting === 0;
  }

  /** Batches waiting for a retry timer (for snapshots). */
  waitingBatches(): Iterable<Batch<TIn, TOut>> {
    return this.waiting;
  }

  /** End of input: from now on retries wait for nothing but a retry-after hint (and, under Flink's rules, are final). */
  endOfInput(): void {
    this.ending = true;
  }

  /**
   * Fires pending retries at once (as Flink does at end of input), except one
   * waiting for a service's retry-after hint: firing it early would only get throttled again.
   */
  fireWaitingRetries(): void {
    for (const batch of [...this.waiting]) {
      if (batch.throttledWait) continue;
      batch.cancelRetry?.();
      batch.cancelRetry = undefined;
      this.waiting.delete(batch);
      this.dispatcher.enqueueRetry(batch);
    }
  }

  /** Drops every retry timer. */
  stop(): void {
    for (const batch of this.waiting) batch.cancelRetry?.();
    this.waiting.clear();
    this.emitting = 0;
  }

  /**
   * A call ended with its outputs (`VALUE`) or an error. Returns how the
   * call went, for the batch policy; undefined for a `timeout()` hook's call.
   */
  callEnded(call: Call<TIn, TOut>, kind: Completion, value: unknown): CallOutcome | undefined {
    const batch = call.batch;
    if (call.hook) {
      // The hook's answer is final: no retry, no split, no second hook call.
      if (kind === VALUE) this.onOutputs(batch, value, false);
      else this.failAll(batch, value);
      return undefined;
    }
    this.throttledCall = false;
    if (kind === VALUE) {
      this.onOutputs(batch, value, true);
    } else {
      this.metrics.failures.count++;
      this.onError(batch, value);
    }
    return {
      size: batch.inputs.length,
      weight: batch.weight,
      startedAt: call.startedAt,
      durationMs: this.ctx.clock.now() - call.startedAt,
      throttled: this.throttledCall,
      failed: kind !== VALUE,
    };
  }

  /** The batch's deadline passed between attempts: the timeout decides it (the `timeout()` hook or the failure policy). */
  deadlinePassed(batch: Batch<TIn, TOut>): void {
    this.metrics.timeouts.count++;
    this.giveUp(batch, new AsyncTimeoutError('deadline', this.config.deadline));
  }

  private onOutputs(batch: Batch<TIn, TOut>, outputs: unknown, mayRetry: boolean): void {
    if (!Array.isArray(outputs)) {
      this.onUnusableOutputs(batch, `the async function must complete with an array of outputs, got ${typeof outputs}`, mayRetry);
      return;
    }
    if (this.config.perItem) {
      this.onItemOutputs(batch, outputs as readonly unknown[], mayRetry);
      return;
    }
    const retry = this.config.retry;
    if (mayRetry && batch.attempts < retry.maxAttempts && retry.retryOnResult(outputs as readonly TOut[])) {
      const delay = this.nextAttemptDelay(batch, undefined);
      if (delay !== undefined) {
        this.scheduleRetry(batch, delay, false);
        return;
      }
    }
    if (!mayRetry) {
      this.queue.completeBatch(batch.slots, batch.inputs.length, outputs as readonly TOut[]);
      return;
    }
    this.dispatcher.limiter.onSuccess();
    this.emitAfterFreedSlot(() => {
      this.queue.completeBatch(batch.slots, batch.inputs.length, outputs as readonly TOut[]);
    });
  }

  /**
   * A call succeeded and its retries and throttling are decided: its slot
   * takes the next batch (retries first) before the outputs go down the
   * chain, so the service gets its next call without waiting for the sink.
   * If that call completed at once, the outputs go as a mail behind its
   * completion: one that fails the job closes the mailbox, which drops them.
   */
  private emitAfterFreedSlot(emit: () => void): void {
    this.dispatcher.dispatchReady();
    if (!this.dispatcher.completionsPending) {
      emit();
      return;
    }
    this.emitting++;
    this.ctx.task.execute(() => {
      this.emitting--;
      emit();
      this.owner.pump();
    }, this.ctx.description);
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
      else this.dispatcher.limiter.onSuccess();
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
      const child = batch.subBatch(again, this.config.weigher);
      child.attempts = batch.attempts;
      child.deadlineAt = batch.deadlineAt;
      this.scheduleRetry(child, delay as number, retryAfter !== undefined);
    }
    const emit = (): void => {
      // Every item neither retried nor lost is done; `again` and `lost` hold ascending indices.
      for (let i = 0, a = 0, l = 0; i < n; i++) {
        if (again?.[a] === i) a++;
        else if (lost?.[l] === i) l++;
        else this.queue.completeItem(batch.slots, i, outputs[i] as TOut);
      }
      if (lost !== undefined) this.applyFailurePolicy(batch, lost, errors as unknown[]);
    };
    if (mayRetry) this.emitAfterFreedSlot(emit);
    else emit();
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
    this.throttledCall = true;
    this.metrics.throttled.count++;
    this.dispatcher.limiter.onThrottle();
    throttled(this.ctx.log, this.dispatcher.limiter.limit);
  }

  /**
   * The batch failed for good: split it, ask the timeout hook, or apply the failure policy. A batch out of time
   * or throttled is not split: neither says a record is bad, and halves sent at once would defy the service's hint.
   */
  private giveUp(batch: Batch<TIn, TOut>, error: unknown): void {
    const n = batch.inputs.length;
    const deadline = error instanceof AsyncTimeoutError && error.kind === 'deadline';
    if (this.config.splitOnFailure && n > 1 && !deadline && retryAfterOf(error) === undefined) {
      const mid = Math.ceil(n / 2);
      const indices = batch.inputs.map((_, i) => i);
      this.dispatcher.enqueueRetry(batch.subBatch(indices.slice(0, mid), this.config.weigher));
      this.dispatcher.enqueueRetry(batch.subBatch(indices.slice(mid), this.config.weigher));
      return;
    }
    if (error instanceof AsyncTimeoutError && this.dispatcher.hasTimeoutHook) {
      this.dispatcher.startHook(batch, error);
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
      // Thrown out of the running action, like any failure in a mail: the rest of it does not run,
      // and the operator stops when the task fails, after the action.
      throw new AsyncBatchFailedError(indices.length, batch.inputs.length, batch.attempts, errors[0]);
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
        this.queue.completeItemWith(batch.slots, i, undefined);
      } else {
        const outputs = policy.fallback(input, error);
        if (!Array.isArray(outputs)) throw new TypeError(`the onFailure fallback must return an array of outputs, got ${typeof outputs}`);
        this.queue.completeItemWith(batch.slots, i, outputs);
      }
    }
  }

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
    const delay = retryAfter ?? (this.ending ? 0 : this.backoff(batch.attempts));
    const now = this.ctx.clock.now();
    if (now + delay < batch.deadlineAt) return delay;
    return rules.waitForDeadline && now < batch.deadlineAt ? batch.deadlineAt - now : undefined;
  }

  /** The strategy's wait, checked: NaN gave up after one attempt and a negative wait retried at once, both silently. */
  private backoff(attempt: number): number {
    const delay: unknown = this.config.retry.backoff(attempt);
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new RangeError(`option 'retry': backoff(${attempt}) must return a finite number of milliseconds >= 0, got ${describeValue(delay)}`);
    }
    return delay;
  }

  private scheduleRetry(batch: Batch<TIn, TOut>, delay: number, throttled: boolean): void {
    if (delay <= 0) {
      this.dispatcher.enqueueRetry(batch);
      return;
    }
    batch.throttledWait = throttled;
    this.waiting.add(batch);
    batch.cancelRetry = this.ctx.processingTimeService.registerTimer(this.ctx.clock.now() + delay, () => {
      if (!this.waiting.delete(batch)) return;
      batch.cancelRetry = undefined;
      // A wait that reached the deadline (see `nextAttemptDelay`) ends in the timeout, without waiting for a call slot.
      if (this.ctx.clock.now() >= batch.deadlineAt) this.deadlinePassed(batch);
      else this.dispatcher.enqueueRetry(batch);
      this.owner.pump();
    });
  }
}
