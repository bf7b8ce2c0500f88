import { emitChunk, type Output } from '@tributary/core';
import type { Tagger } from '../batching/BatchPolicy.js';
import type { AsyncStateEntry } from '../operators/AsyncBatchWaitOperator.js';
import type { ResultSlot } from './ResultSlot.js';

/** The result slots of a batch's records, in the ordered modes; undefined when results leave as they complete. */
export type Slots<TIn, TOut> = readonly ResultSlot<TIn, TOut>[] | undefined;

/**
 * Where results wait until they may be emitted (Flink's `StreamElementQueue`):
 * it holds every record from arrival until its outputs left, and counts them
 * against the operator's `capacity`. Implementations: unordered, ordered, key-ordered.
 */
export interface ResultQueue<TIn, TOut> {
  /** Records held: admitted and not yet emitted or given up. */
  readonly size: number;
  /** Gives each arriving record its place in line; undefined when results need none (unordered). */
  readonly tagger: Tagger<TIn, ResultSlot<TIn, TOut>> | undefined;
  /** `n` records arrived (after the batch policy took them, so a batch completing meanwhile never sees them early). */
  admit(n: number): void;
  /** A collect-mode batch of `size` records completed with `outputs`. */
  completeBatch(slots: Slots<TIn, TOut>, size: number, outputs: readonly TOut[]): void;
  /** Record `i` of a batch completed with its one output (per-item mode). */
  completeItem(slots: Slots<TIn, TOut>, i: number, output: TOut): void;
  /** Record `i` of a batch ended with `outputs` (a fallback's) or with nothing (dead-lettered). */
  completeItemWith(slots: Slots<TIn, TOut>, i: number, outputs: readonly TOut[] | undefined): void;
  /** A completed entry restored from a checkpoint: it leaves at its place in line. */
  restoreCompleted(entry: Extract<AsyncStateEntry<TIn, TOut>, { outputs: unknown }>): void;
  /**
   * Every record held, as checkpoint entries in line order, in runs that must
   * restore together on one subtask (list state deals runs out when the
   * parallelism changes): one record each, or one key's records in key-ordered
   * mode. `held` yields the inputs of records the queue does not place
   * (unordered mode: in calls, retries and open batches).
   */
  snapshot(held: () => Iterable<TIn>): AsyncStateEntry<TIn, TOut>[][];
  /** Forgets every record placed (the operator stopped); `size` stays, as nothing more is admitted. */
  clear(): void;
}

/** Results leave as soon as their call completes: nothing is placed, only counted. */
export class UnorderedResultQueue<TIn, TOut> implements ResultQueue<TIn, TOut> {
  size = 0;
  readonly tagger = undefined;

  constructor(private readonly out: Output<TOut>) {}

  admit(n: number): void {
    this.size += n;
  }

  completeBatch(_slots: Slots<TIn, TOut>, size: number, outputs: readonly TOut[]): void {
    // The whole batch's outputs go down the chain in one call.
    emitChunk(this.out, outputs);
    this.size -= size;
  }

  completeItem(_slots: Slots<TIn, TOut>, _i: number, output: TOut): void {
    this.out.collect(output);
    this.size--;
  }

  completeItemWith(_slots: Slots<TIn, TOut>, _i: number, outputs: readonly TOut[] | undefined): void {
    if (outputs !== undefined) emitChunk(this.out, outputs);
    this.size--;
  }

  restoreCompleted(entry: { readonly outputs: readonly TOut[] }): void {
    emitChunk(this.out, entry.outputs);
  }

  snapshot(held: () => Iterable<TIn>): AsyncStateEntry<TIn, TOut>[][] {
    const runs: AsyncStateEntry<TIn, TOut>[][] = [];
    for (const input of held()) runs.push([{ input }]);
    return runs;
  }

  clear(): void {
    // Nothing placed to forget.
  }
}
