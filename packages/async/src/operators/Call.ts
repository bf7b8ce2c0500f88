import type { MetricGroup } from '@tributary/core';
import type { AsyncTimeoutError } from '../errors.js';
import type { Batch } from './Batch.js';
import type { CallFuture } from './Invoker.js';

/** How a call ended. */
export const VALUE = 1;
export const ERROR = 2;
export type Completion = typeof VALUE | typeof ERROR;

/** Who a call reports to: the dispatcher. */
export interface CallOwner<TIn, TOut> {
  /** The call completed (from its result future, at most once). */
  settle(call: Call<TIn, TOut>, kind: Completion, value: unknown): void;
  /** A controller for the call's signal, made on first read. */
  takeController(): AbortController;
  /** The operator subtask's metric group (the call's `metrics`). */
  readonly metricGroup: MetricGroup;
}

/**
 * One call of the user function (or of its `timeout()` hook): the context
 * and result future it is given. The first completion wins (see `Dispatcher.settle`).
 */
export class Call<TIn, TOut> implements CallFuture<TOut> {
  settled = false;
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
    private readonly owner: CallOwner<TIn, TOut>,
    readonly batch: Batch<TIn, TOut>,
    readonly attempt: number,
    readonly startedAt: number,
    /** A call of the `timeout()` hook, not of the function. */
    readonly hook: boolean,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = this.owner.takeController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason.reason);
    }
    return this.controller.signal;
  }

  get ended(): boolean {
    return this.settled || this.abortReason !== undefined;
  }

  get metrics(): MetricGroup {
    return this.owner.metricGroup;
  }

  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = { reason };
    this.controller?.abort(reason);
  }

  readonly complete = (outputs: readonly TOut[]): void => {
    this.owner.settle(this, VALUE, outputs);
  };

  readonly completeExceptionally = (error: unknown): void => {
    this.owner.settle(this, ERROR, error);
  };

  readonly completeOne = (output: TOut): void => {
    this.owner.settle(this, VALUE, [output]);
  };
}
