import { describeValue, messageOf, OptionChecker, seededRandom, type Clock } from '@tributary/core';
import { AbortError, FakeServiceError, FakeThrottledError } from './errors.js';

/** How a call ended; `pending` while it is queued or being served. */
export type CallOutcome = 'pending' | 'ok' | 'error' | 'throttled' | 'aborted';

/** One call the service received, as logged in {@link FakeBatchService.calls}. */
export interface CallRecord<TIn> {
  /** 1-based, in the order the calls arrived. */
  readonly id: number;
  /** `call` (one answer for the batch) or `callPerItem` (one outcome per input). */
  readonly mode: 'batch' | 'per-item';
  /** A copy of the inputs, taken when the call arrived. */
  readonly inputs: readonly TIn[];
  /** When the call arrived. */
  readonly queuedAt: number;
  /** When a server slot took it; unset while queued, and for a call aborted in the queue. */
  readonly startedAt?: number;
  /** When it answered, failed or was aborted. */
  readonly finishedAt?: number;
  readonly outcome: CallOutcome;
  /** What the call rejected with (outcome `error`, `throttled` or `aborted`). */
  readonly error?: Error;
  /** For a per-item call: how many items failed (see `failItems`). */
  readonly failedItems?: number;
}

/** The latency model: a call of `n` inputs is served in `baseMs + perItemMs * n` ms. */
export interface LatencyModel {
  readonly baseMs: number;
  readonly perItemMs: number;
}

/** Options of {@link FakeBatchService}. */
export interface FakeBatchServiceOptions<TIn, TOut> {
  /** The clock every wait goes through: a `ManualClock` in tests, a `SystemClock` in benchmarks. */
  readonly clock: Clock;
  /** The "model": one output per input. An exception it throws rejects the call. */
  readonly handler: (inputs: readonly TIn[]) => TOut[];
  /** Service time of a call. Default `{ baseMs: 0, perItemMs: 0 }`. */
  readonly latency?: LatencyModel;
  /** Calls served at once; further calls wait in a FIFO queue (queue time is not service time). Default: no limit. */
  readonly concurrency?: number;
  /** 1-based call numbers that fail (reject with a `FakeServiceError` after their service time). */
  readonly failCalls?: readonly number[];
  /** Poison records: a call containing one fails, naming the record's position. */
  readonly failRecords?: (input: TIn) => boolean;
  /** Each call fails with this probability, drawn from a PRNG seeded with `seed`, in call order. Default 0. */
  readonly failureRate?: number;
  /** Seed of `failureRate`: the same seed fails the same call numbers. Default 1. */
  readonly seed?: number;
  /** 1-based call numbers that never answer; they reject with an `AbortError` when the caller's signal aborts. */
  readonly hangCalls?: readonly number[];
  /** 1-based call numbers that are throttled: they reject with a `FakeThrottledError` carrying `retryAfterMs`. */
  readonly throttleCalls?: readonly number[];
  /** The retry-after hint of throttled calls. Default 100. */
  readonly retryAfterMs?: number;
  /** Items that fail on their own in {@link FakeBatchService.callPerItem}; ignored by `call`. */
  readonly failItems?: (input: TIn) => boolean;
  /**
   * Keep a record of every call (`calls`, `batchSizes()`, `describeCalls()`).
   * Default true; a benchmark over millions of records turns it off, and
   * reads `busyMs` instead. Off, the service also takes no copy of each
   * call's inputs: the handler reads the caller's array when the call is
   * answered, so the caller must not change it meanwhile.
   */
  readonly keepCallLog?: boolean;
}

/** Options of one call; an unknown name or a `signal` that is not an AbortSignal throws an `InvalidJobError` at the call. */
export interface CallOptions {
  /** Aborting it rejects the call at once with an `AbortError` and frees its server slot. */
  readonly signal?: AbortSignal;
}

interface MutableCallRecord<TIn> {
  id: number;
  mode: 'batch' | 'per-item';
  inputs: readonly TIn[];
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  outcome: CallOutcome;
  error?: Error;
  failedItems?: number;
}

interface PendingCall<TIn> {
  readonly record: MutableCallRecord<TIn>;
  /** Answers the call: computes its result (or failure) and settles the caller's promise. */
  readonly answer: () => void;
  readonly abort: () => void;
  /** Cancels the answer's clock timer once the call is being served. */
  cancelTimer?: () => void;
}

/**
 * A scripted batch endpoint (a model server, an embeddings API) for tests and
 * benchmarks: it answers with a handler you give it, after a latency that
 * follows `base + perItem * n` on the injected clock, serves at most
 * `concurrency` calls at once, fails the calls you script, and logs every
 * call so a test can assert batch boundaries, timing and concurrency.
 *
 * Details:
 * - Every call, failed or not, takes its full service time: the fake does
 *   not answer early. Under a `ManualClock` nothing happens until the test
 *   moves the clock (a call with zero latency answers when the clock is set,
 *   even to the current time, which `harness.drain()` does).
 * - Failure scripts are checked in this order: `throttleCalls`, `failCalls`,
 *   `failRecords`, `failureRate`, then the handler runs. `failureRate` draws
 *   one number per call when it arrives, so a seed fails the same call
 *   numbers on every run.
 * - An aborted signal rejects the call at once with an error named
 *   `AbortError` (its `cause` is the signal's reason) and frees the slot,
 *   whether the call was queued or being served.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * const service = new FakeBatchService<string, number>({
 *   clock,
 *   handler: (texts) => texts.map((t) => t.length),
 *   latency: { baseMs: 10, perItemMs: 1 },
 *   concurrency: 2,
 * });
 * const answer = service.call(['a', 'bb']);
 * await clock.advance(12);
 * await answer; // [1, 2]
 * service.calls[0]; // { id: 1, inputs: ['a', 'bb'], queuedAt: 0, startedAt: 0, finishedAt: 12, outcome: 'ok', ... }
 * ```
 */
export class FakeBatchService<TIn, TOut> {
  private readonly clock: Clock;
  private readonly handler: (inputs: readonly TIn[]) => TOut[];
  private readonly latency: LatencyModel;
  private readonly concurrency: number;
  private readonly failCalls: ReadonlySet<number>;
  private readonly hangCalls: ReadonlySet<number>;
  private readonly throttleCalls: ReadonlySet<number>;
  private readonly failRecords: ((input: TIn) => boolean) | undefined;
  private readonly failItems: ((input: TIn) => boolean) | undefined;
  private readonly failureRate: number;
  private readonly retryAfterMs: number;
  private readonly random: () => number;
  private readonly log: MutableCallRecord<TIn>[] = [];
  /** Whether the service keeps a call log (option `keepCallLog`): without it `calls` stays empty. */
  readonly keepCallLog: boolean;
  private callCount = 0;
  private served = 0;
  private readonly queue: PendingCall<TIn>[] = [];
  private active = 0;
  private peak = 0;

  constructor(options: FakeBatchServiceOptions<TIn, TOut>) {
    const check = new OptionChecker('FakeBatchService');
    check.known(check.object(options), FAKE_SERVICE_OPTIONS);
    if (options.clock === undefined) check.fail(`option 'clock' must be a Clock, got undefined`);
    this.clock = check.optionalClock('clock', options.clock) ?? options.clock;
    this.handler = check.func('handler', options.handler);
    const latency = check.record('latency', options.latency, LATENCY_OPTIONS) ?? { baseMs: 0, perItemMs: 0 };
    this.latency = { baseMs: check.duration('latency.baseMs', latency.baseMs), perItemMs: check.duration('latency.perItemMs', latency.perItemMs) };
    const concurrency = options.concurrency === undefined ? Number.POSITIVE_INFINITY : options.concurrency;
    // Infinity (the default) means no limit.
    this.concurrency = concurrency === Number.POSITIVE_INFINITY ? concurrency : check.integer('concurrency', concurrency);
    this.failureRate = check.optionalNumber('failureRate', options.failureRate, { min: 0, max: 1 }) ?? 0;
    this.retryAfterMs = check.optionalDuration('retryAfterMs', options.retryAfterMs, 100);
    this.failCalls = callNumbers(check, 'failCalls', options.failCalls);
    this.hangCalls = callNumbers(check, 'hangCalls', options.hangCalls);
    this.throttleCalls = callNumbers(check, 'throttleCalls', options.throttleCalls);
    this.failRecords = check.optionalFunc('failRecords', options.failRecords);
    this.failItems = check.optionalFunc('failItems', options.failItems);
    this.random = seededRandom(check.optionalNumber('seed', options.seed, {}) ?? 1);
    check.optionalBoolean('keepCallLog', options.keepCallLog);
    this.keepCallLog = options.keepCallLog ?? true;
  }

  /** Every call received so far, in arrival order; records update as calls progress. */
  get calls(): readonly CallRecord<TIn>[] {
    return this.log;
  }

  /** The most calls observed being served at once. */
  get maxConcurrency(): number {
    return this.peak;
  }

  /** Time calls spent being served (not queued), summed over finished calls, on the service's clock. */
  get busyMs(): number {
    return this.served;
  }

  /** Calls being served now. */
  get inFlight(): number {
    return this.active;
  }

  /** Calls waiting for a server slot now. */
  get queued(): number {
    return this.queue.length;
  }

  /** `inputs.length` of every call, in call order. */
  batchSizes(): number[] {
    return this.log.map((c) => c.inputs.length);
  }

  /** The call log as text, one call a line, for assertion messages. */
  describeCalls(): string {
    return this.log
      .map((c) => {
        const served = c.startedAt === undefined ? 'never served' : `served ${c.startedAt}..${c.finishedAt ?? '?'}`;
        return `#${c.id} ${c.mode} n=${c.inputs.length} queued ${c.queuedAt}, ${served}: ${c.outcome}${c.error === undefined ? '' : ` (${c.error.message})`}`;
      })
      .join('\n');
  }

  /**
   * Sends a batch; resolves with the handler's outputs, or rejects as the
   * scripts say (`FakeServiceError`, `FakeThrottledError`, `AbortError`).
   */
  call(inputs: readonly TIn[], options: CallOptions = {}): Promise<TOut[]> {
    return this.enqueue('batch', inputs, callSignal('FakeBatchService.call()', options), (record) => this.handler(record.inputs));
  }

  /**
   * Sends a batch whose items succeed or fail one by one: resolves with one
   * entry per input, the handler's output or an `Error` where `failItems`
   * says the item failed. Call-level scripts (failures, throttling, hangs)
   * still reject the whole call.
   */
  callPerItem(inputs: readonly TIn[], options: CallOptions = {}): Promise<(TOut | Error)[]> {
    return this.enqueue('per-item', inputs, callSignal('FakeBatchService.callPerItem()', options), (record) => {
      const outputs = this.handler(record.inputs);
      if (outputs.length !== record.inputs.length) {
        throw new FakeServiceError(
          `FakeBatchService call #${record.id}: the handler returned ${outputs.length} outputs for ${record.inputs.length} inputs; per-item calls need one per input`,
          record.id,
          'handler',
        );
      }
      let failed = 0;
      const results = outputs.map((output, i): TOut | Error => {
        const input = record.inputs[i] as TIn;
        if (this.failItems?.(input) !== true) return output;
        failed++;
        return new FakeServiceError(`FakeBatchService call #${record.id}: item ${i} (${preview(input)}) failed (failItems)`, record.id, 'item');
      });
      record.failedItems = failed;
      return results;
    });
  }

  private enqueue<TResult>(
    mode: 'batch' | 'per-item',
    inputs: readonly TIn[],
    signal: AbortSignal | undefined,
    compute: (record: MutableCallRecord<TIn>) => TResult,
  ): Promise<TResult> {
    const record: MutableCallRecord<TIn> = {
      id: ++this.callCount,
      mode,
      // The copy is for the log (a caller may reuse its array); without a log, none is kept.
      inputs: this.keepCallLog ? [...inputs] : inputs,
      queuedAt: this.clock.now(),
      outcome: 'pending',
    };
    if (this.keepCallLog) this.log.push(record);
    // Drawn for every call, used or not, so call k meets the k-th number whatever came before.
    const randomFailure = this.random() < this.failureRate;

    return new Promise<TResult>((resolve, reject) => {
      const finish = (outcome: CallOutcome, error?: Error): void => {
        record.outcome = outcome;
        record.finishedAt = this.clock.now();
        if (record.startedAt !== undefined) this.served += record.finishedAt - record.startedAt;
        if (error !== undefined) record.error = error;
        signal?.removeEventListener('abort', onAbort);
      };
      const pending: PendingCall<TIn> = {
        record,
        answer: () => {
          this.release();
          try {
            const failure = this.scriptedFailure(record, randomFailure);
            if (failure !== undefined) throw failure;
            const result = compute(record);
            finish('ok');
            resolve(result);
          } catch (error) {
            const err = error instanceof Error ? error : new Error(messageOf(error));
            finish(err instanceof FakeThrottledError ? 'throttled' : 'error', err);
            reject(err);
          }
        },
        abort: () => {
          const wasServed = record.startedAt !== undefined;
          if (wasServed) {
            pending.cancelTimer?.();
            this.release();
          } else {
            this.queue.splice(this.queue.indexOf(pending), 1);
          }
          const error = new AbortError(
            `FakeBatchService call #${record.id} aborted by the caller while ${wasServed ? 'being served' : 'queued'}`,
            signal?.reason,
          );
          finish('aborted', error);
          reject(error);
        },
      };
      const onAbort = (): void => {
        if (record.outcome === 'pending') pending.abort();
      };
      if (signal?.aborted === true) {
        const error = new AbortError(`FakeBatchService call #${record.id} aborted before it was sent`, signal.reason);
        finish('aborted', error);
        reject(error);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(pending);
      this.dispatch();
    });
  }

  /** Starts queued calls while server slots are free. */
  private dispatch(): void {
    while (this.active < this.concurrency && this.queue.length !== 0) {
      const next = this.queue.shift() as PendingCall<TIn>;
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      const now = this.clock.now();
      next.record.startedAt = now;
      if (this.hangCalls.has(next.record.id)) continue;
      const serviceTime = this.latency.baseMs + this.latency.perItemMs * next.record.inputs.length;
      next.cancelTimer = this.clock.schedule(now + serviceTime, next.answer);
    }
  }

  /** Frees a server slot and hands it to the next queued call. */
  private release(): void {
    this.active--;
    this.dispatch();
  }

  private scriptedFailure(record: MutableCallRecord<TIn>, randomFailure: boolean): Error | undefined {
    const id = record.id;
    if (this.throttleCalls.has(id)) {
      return new FakeThrottledError(`FakeBatchService call #${id} throttled: retry after ${this.retryAfterMs} ms (throttleCalls)`, id, this.retryAfterMs);
    }
    if (this.failCalls.has(id)) return new FakeServiceError(`FakeBatchService call #${id} failed (failCalls)`, id, 'failCalls');
    if (this.failRecords !== undefined) {
      const index = record.inputs.findIndex((input) => this.failRecords?.(input) === true);
      if (index !== -1) {
        return new FakeServiceError(
          `FakeBatchService call #${id} failed: poison record at index ${index} (${preview(record.inputs[index])}) (failRecords)`,
          id,
          'failRecords',
        );
      }
    }
    if (randomFailure) return new FakeServiceError(`FakeBatchService call #${id} failed at random (failureRate ${this.failureRate})`, id, 'failureRate');
    return undefined;
  }
}

const FAKE_SERVICE_OPTIONS = [
  'clock',
  'handler',
  'latency',
  'concurrency',
  'failCalls',
  'failRecords',
  'failureRate',
  'seed',
  'hangCalls',
  'throttleCalls',
  'retryAfterMs',
  'failItems',
  'keepCallLog',
];
const LATENCY_OPTIONS = ['baseMs', 'perItemMs'];
const CALL_OPTIONS = ['signal'];

/**
 * A call's signal, checked before the call is logged: a misspelled `signal` left the call unabortable, a non-signal left it
 * pending. Thrown at the call, not a rejection, which a test awaiting the call after moving the clock would see as unhandled.
 * An object with a `signal` may carry more (the async operator's call context, passed on as it is).
 */
function callSignal(method: string, options: unknown): AbortSignal | undefined {
  const check = new OptionChecker(method);
  const given = check.object(options);
  if (!('signal' in given)) check.known(given, CALL_OPTIONS);
  const signal = (options as CallOptions).signal as Partial<AbortSignal> | null | undefined;
  // Duck-typed: a signal from another realm (a worker, jsdom) is no instance of this one's AbortSignal.
  if (signal !== undefined && (typeof signal?.aborted !== 'boolean' || typeof signal.addEventListener !== 'function' || typeof signal.removeEventListener !== 'function')) {
    check.fail(`option 'signal' must be an AbortSignal, got ${describeValue(signal)}`);
  }
  return signal as AbortSignal | undefined;
}

function callNumbers(check: OptionChecker, option: string, values: readonly number[] | undefined): ReadonlySet<number> {
  if (values !== undefined && !Array.isArray(values)) check.fail(`option '${option}' must be an array of 1-based call numbers, got ${describeValue(values)}`);
  for (const n of values ?? []) {
    if (!Number.isSafeInteger(n) || n < 1) check.fail(`option '${option}' holds 1-based call numbers, got ${describeValue(n)}`);
  }
  return new Set(values);
}

/** A short, printable form of a record for error messages. */
function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
