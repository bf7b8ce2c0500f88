import { functionForSubtask, type RuntimeContext } from '@tributary/core';
import type { AsyncBatchFunction, AsyncFunction, AsyncRecordFunction, BatchContext, BatchFunction, ResultFuture } from '../functions.js';

/** What one call of the user function is given and completes: its context and result future, as bound functions (promise callbacks). */
export interface CallFuture<TOut> extends BatchContext, ResultFuture<TOut> {
  /** The call completed, ran out of time, or its operator stopped (closed, cancelled): a completion from now on is ignored. */
  readonly ended: boolean;
  readonly complete: (outputs: readonly TOut[]) => void;
  readonly completeExceptionally: (error: unknown) => void;
  /** Completes a per-record plain function's call with its one output. */
  readonly completeOne: (output: TOut) => void;
}

/**
 * The user function of one subtask, in the shape the operator calls: a batch
 * of inputs in, completion through the call's future. A throw or a rejected
 * promise completes the call exceptionally.
 */
export interface Invoker<TIn, TOut> {
  /** Whether the function has Flink's `timeout()` hook. */
  readonly hasTimeoutHook: boolean;
  /** Whether the invoker counts the calls it makes (`AsyncOperatorMetrics.countCall`); else the dispatcher counts each batch as a call. */
  readonly countsCalls: boolean;
  /** Runs the function's `open`; a promise when it is asynchronous. */
  open(ctx: RuntimeContext): Promise<void> | undefined;
  close(): void | Promise<void>;
  invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void;
  /** Calls the `timeout()` hook (only when `hasTimeoutHook`). */
  timeout(inputs: readonly TIn[], call: CallFuture<TOut>): void;
}

/** Makes a subtask's invoker: chosen once when the options are resolved. */
export type InvokerFactory<TIn, TOut> = () => Invoker<TIn, TOut>;

type BatchFn<TIn, TOut> = (inputs: readonly TIn[], ctx: BatchContext) => Promise<readonly TOut[]> | readonly TOut[];
type RecordFn<TIn, TOut> = (input: TIn, ctx: BatchContext) => Promise<TOut> | TOut;

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** A plain function has no hooks: open, close and timeout do nothing. */
abstract class PlainInvoker<TIn, TOut> implements Invoker<TIn, TOut> {
  readonly hasTimeoutHook = false;
  readonly countsCalls = false;
  open(): undefined {
    return undefined;
  }
  close(): void {}
  timeout(): void {}
  abstract invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void;
}

class BatchFunctionInvoker<TIn, TOut> extends PlainInvoker<TIn, TOut> {
  constructor(private readonly fn: BatchFn<TIn, TOut>) {
    super();
  }

  invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    try {
      const result = this.fn(inputs, call);
      if (isThenable(result)) result.then(call.complete, call.completeExceptionally);
      else call.complete(result);
    } catch (error) {
      call.completeExceptionally(error);
    }
  }
}

class RecordFunctionInvoker<TIn, TOut> extends PlainInvoker<TIn, TOut> {
  constructor(private readonly fn: RecordFn<TIn, TOut>) {
    super();
  }

  invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    try {
      const result = this.fn(inputs[0] as TIn, call);
      if (isThenable(result)) result.then(call.completeOne, call.completeExceptionally);
      else call.completeOne(result);
    } catch (error) {
      call.completeExceptionally(error);
    }
  }
}

/** The lifecycle hooks an object function may have. */
interface Hooks {
  open?(ctx: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** An object function: its own copy per subtask (as Flink deserializes one), so fields set in open() are per subtask. */
abstract class ObjectInvoker<TIn, TOut, F extends Hooks> implements Invoker<TIn, TOut> {
  protected readonly fn: F;
  abstract readonly hasTimeoutHook: boolean;
  readonly countsCalls = false;

  /** `fn` is this subtask's own instance (see `functionForSubtask`). */
  constructor(fn: F) {
    this.fn = fn;
  }

  open(ctx: RuntimeContext): Promise<void> | undefined {
    const pending = this.fn.open?.(ctx);
    return isThenable(pending) ? Promise.resolve(pending) : undefined;
  }

  close(): void | Promise<void> {
    return this.fn.close?.();
  }

  invoke(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    try {
      const result = this.call(inputs, call);
      if (isThenable(result)) result.then(undefined, call.completeExceptionally);
    } catch (error) {
      call.completeExceptionally(error);
    }
  }

  timeout(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    try {
      this.callTimeout(inputs, call);
    } catch (error) {
      call.completeExceptionally(error);
    }
  }

  protected abstract call(inputs: readonly TIn[], call: CallFuture<TOut>): void | Promise<void>;
  protected abstract callTimeout(inputs: readonly TIn[], call: CallFuture<TOut>): void;
}

class BatchObjectInvoker<TIn, TOut> extends ObjectInvoker<TIn, TOut, AsyncBatchFunction<TIn, TOut>> {
  readonly hasTimeoutHook = typeof this.fn.timeout === 'function';

  protected call(inputs: readonly TIn[], call: CallFuture<TOut>): void | Promise<void> {
    return this.fn.asyncInvokeBatch(inputs, call, call);
  }

  protected callTimeout(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    this.fn.timeout?.(inputs, call);
  }
}

class RecordObjectInvoker<TIn, TOut> extends ObjectInvoker<TIn, TOut, AsyncFunction<TIn, TOut>> {
  readonly hasTimeoutHook = typeof this.fn.timeout === 'function';

  protected call(inputs: readonly TIn[], call: CallFuture<TOut>): void | Promise<void> {
    return this.fn.asyncInvoke(inputs[0] as TIn, call, call);
  }

  protected callTimeout(inputs: readonly TIn[], call: CallFuture<TOut>): void {
    this.fn.timeout?.(inputs[0] as TIn, call);
  }
}

/** The invoker of a batch function: a plain function, or an object with `asyncInvokeBatch`. */
export function batchInvoker<TIn, TOut>(fn: BatchFunction<TIn, TOut>): InvokerFactory<TIn, TOut> {
  if (typeof fn === 'function') return () => new BatchFunctionInvoker(fn);
  // Each subtask gets its own instance: a perSubtask() factory's, else a shallow copy of the object.
  return () => new BatchObjectInvoker(functionForSubtask(fn, 'asyncInvokeBatch'));
}

/** The invoker of a per-record function: a plain function (one output), or an object with `asyncInvoke`. */
export function recordInvoker<TIn, TOut>(fn: AsyncRecordFunction<TIn, TOut>): InvokerFactory<TIn, TOut> {
  if (typeof fn === 'function') return () => new RecordFunctionInvoker(fn);
  return () => new RecordObjectInvoker(functionForSubtask(fn, 'asyncInvoke'));
}
