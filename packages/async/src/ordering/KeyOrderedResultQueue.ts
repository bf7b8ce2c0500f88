import type { Collector, Key } from '@tributary/core';
import type { AsyncStateEntry } from '../operators/AsyncBatchWaitOperator.js';
import { OrderedResultQueue } from './OrderedResultQueue.js';
import { Lane } from './ResultSlot.js';

/**
 * Emits results in input order per key: a lane per key, so a slow key never
 * holds back another. A lane is dropped once empty, so keys seen once do not pile up.
 */
export class KeyOrderedResultQueue<TIn, TOut> extends OrderedResultQueue<TIn, TOut> {
  private readonly byKey = new Map<Key, Lane<TIn, TOut>>();

  constructor(
    private readonly keyOf: (input: TIn) => Key,
    out: Collector<TOut>,
  ) {
    super(out);
  }

  override clear(): void {
    this.byKey.clear();
  }

  protected override laneOf(input: TIn): Lane<TIn, TOut> {
    return this.laneFor(this.keyOf(input));
  }

  protected override laneFor(key: Key | undefined): Lane<TIn, TOut> {
    let lane = this.byKey.get(key as Key);
    if (lane === undefined) {
      lane = new Lane<TIn, TOut>(key);
      this.byKey.set(key as Key, lane);
    }
    return lane;
  }

  /** A key's records stay together, and in order, on whichever subtask restores them. */
  protected override runsOf(entries: AsyncStateEntry<TIn, TOut>[]): AsyncStateEntry<TIn, TOut>[][] {
    return [entries];
  }

  protected override lanes(): Iterable<Lane<TIn, TOut>> {
    return this.byKey.values();
  }

  protected override completedEntry(outputs: readonly TOut[], lane: Lane<TIn, TOut>): AsyncStateEntry<TIn, TOut> {
    return { outputs, key: lane.key as Key };
  }

  protected override emptied(lane: Lane<TIn, TOut>): void {
    if (this.byKey.get(lane.key as Key) === lane) this.byKey.delete(lane.key as Key);
  }
}
