import {
  extractKey,
  HeapKeyedStateBackend,
  KeyedProcessOperator,
  OptionChecker,
  subtaskForKey,
  type Key,
  type KeyedProcessFunction,
  type OperatorFactory,
  type StateDescriptor,
  type ValueStateDescriptor,
} from '@tributary/core';
import { OperatorHarness, type HarnessOptions } from './OperatorHarness.js';

/**
 * A harness for an operator on a keyed stream, after Flink's
 * `KeyedOneInputStreamOperatorTestHarness`: the operator gets a keyed state
 * backend and keyed timers (one per key and timestamp), and
 * `snapshot()` / `initializeState()` carry both.
 *
 * @example
 * ```ts
 * const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction<string, string, string>(
 *   {
 *     processElement(_word, ctx) {
 *       ctx.timerService.registerProcessingTimeTimer(1_000);
 *     },
 *     onTimer(timestamp, ctx, out) {
 *       out.collect(`${ctx.currentKey}@${timestamp}`);
 *     },
 *   },
 *   (word) => word,
 * );
 * await harness.open();
 * harness.processElements(['a', 'b', 'a']);
 * await harness.setProcessingTime(1_000);
 * harness.getOutput(); // ['a@1000', 'b@1000']: one timer per key and timestamp
 * ```
 */
export class KeyedOneInputOperatorHarness<TIn, TOut, TKey extends Key> extends OperatorHarness<TIn, TOut> {
  /** The operator's keyed state, to inspect it directly (see also {@link valueState}). */
  readonly stateBackend: HeapKeyedStateBackend;
  private readonly keySelector: (value: TIn) => TKey;

  constructor(factory: OperatorFactory<TIn, TOut>, keySelector: (value: TIn) => TKey, options: HarnessOptions = {}) {
    new OptionChecker('KeyedOneInputOperatorHarness').func('keySelector', keySelector);
    const backend = new HeapKeyedStateBackend();
    super(factory, { selector: keySelector as (value: unknown) => Key, backend }, options);
    this.stateBackend = backend;
    this.keySelector = keySelector;
  }

  /** A harness around core's `KeyedProcessOperator` running `fn`. */
  static forKeyedProcessFunction<TKey extends Key, TIn, TOut>(
    fn: KeyedProcessFunction<TKey, TIn, TOut>,
    keySelector: (value: TIn) => TKey,
    options: HarnessOptions = {},
  ): KeyedOneInputOperatorHarness<TIn, TOut, TKey> {
    return new KeyedOneInputOperatorHarness<TIn, TOut, TKey>(
      (ctx) => new KeyedProcessOperator<TKey, TIn, TOut>(ctx, fn),
      keySelector,
      { name: 'KeyedProcess', ...options },
    );
  }

  /**
   * A record whose key another subtask owns would never reach this one in a
   * job: a test feeding it would check state the job never builds here.
   */
  protected override checkRecord(value: TIn): void {
    const { parallelism, subtaskIndex, description } = this.context;
    if (parallelism === 1) return;
    let key: Key;
    try {
      key = extractKey(this.keySelector, value, description);
    } catch {
      return; // The operator extracts the key again and fails the task with this error, as in a job.
    }
    const owner = subtaskForKey(key, parallelism);
    if (owner !== subtaskIndex) {
      throw new Error(
        `a record with key ${JSON.stringify(typeof key === 'bigint' ? `${key}n` : key)} belongs to subtask ${owner} of ${parallelism} ` +
          `(by key group), but this harness is subtask ${subtaskIndex}: a job never sends it here. Feed it to the harness ` +
          `with subtaskIndex: ${owner}, or use parallelism 1`,
      );
    }
  }

  /** The key `value` would be processed under (the key selector, checked as the runtime checks it). */
  keyOf(value: TIn): TKey {
    return extractKey(this.keySelector, value, this.context.description) as TKey;
  }

  /**
   * Reads the value state `descriptor` holds for `key` (the descriptor's
   * default when the key has none). Leaves `key` as the current key, which
   * the operator resets before its next record or timer.
   */
  valueState<T>(key: TKey, descriptor: ValueStateDescriptor<T>): T | undefined {
    this.stateBackend.setCurrentKey(key);
    return this.stateBackend.getState(descriptor).value();
  }

  /** Every key that has an entry in the state `descriptor` names, or in any state when omitted. */
  keys(descriptor?: StateDescriptor): TKey[] {
    if (descriptor === undefined) return [...this.stateBackend.keys()] as TKey[];
    const entries = this.stateBackend.snapshot().states[descriptor.name]?.entries ?? [];
    return entries.map(([key]) => key as TKey);
  }
}
