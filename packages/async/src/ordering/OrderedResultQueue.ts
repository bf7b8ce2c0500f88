import type { Collector, Key } from '@tributary/core';
import type { Tagger } from '../batching/BatchPolicy.js';
import type { AsyncStateEntry } from '../operators/AsyncBatchWaitOperator.js';
import type { ResultQueue, Slots } from './ResultQueue.js';
import { Lane, ONE, MANY, PENDING, ResultSlot } from './ResultSlot.js';

/**
 * Emits results in input order: Flink's ordered stream element queue, as a
 * linked list of slots in one lane. A slot is emitted once it and every slot
 * before it in its lane resolved (see {@link KeyOrderedResultQueue} for a lane per key).
 */
export class OrderedResultQueue<TIn, TOut> implements ResultQueue<TIn, TOut>, Tagger<TIn, ResultSlot<TIn, TOut>> {
  size = 0;
  readonly tagger: Tagger<TIn, ResultSlot<TIn, TOut>> = this;
  private readonly single = new Lane<TIn, TOut>(undefined);

  constructor(
    /** Receives the outputs of each record as it leaves the queue. */
    private readonly out: Collector<TOut>,
  ) {}

  /** Takes the next place in line for `input`. */
  append(input: TIn): ResultSlot<TIn, TOut> {
    return this.link(new ResultSlot(input, this.laneOf(input)));
  }

  admit(n: number): void {
    this.size += n;
  }

  completeBatch(slots: Slots<TIn, TOut>, _size: number, outputs: readonly TOut[]): void {
    // Collect mode needs a single lane (key-ordered needs per-item results), so one drain covers every slot.
    const all = slots as readonly ResultSlot<TIn, TOut>[];
    const first = all[0] as ResultSlot<TIn, TOut>;
    first.resolveMany(outputs);
    for (let i = 1; i < all.length; i++) (all[i] as ResultSlot<TIn, TOut>).resolveNone();
    this.drain(first);
  }

  completeItem(slots: Slots<TIn, TOut>, i: number, output: TOut): void {
    const slot = (slots as readonly ResultSlot<TIn, TOut>[])[i] as ResultSlot<TIn, TOut>;
    slot.resolveOne(output);
    this.drain(slot);
  }

  completeItemWith(slots: Slots<TIn, TOut>, i: number, outputs: readonly TOut[] | undefined): void {
    const slot = (slots as readonly ResultSlot<TIn, TOut>[])[i] as ResultSlot<TIn, TOut>;
    if (outputs === undefined) slot.resolveNone();
    else slot.resolveMany(outputs);
    this.drain(slot);
  }

  restoreCompleted(entry: { readonly outputs: readonly TOut[]; readonly key?: Key }): void {
    const slot = this.link(new ResultSlot<TIn, TOut>(undefined as TIn, this.laneFor(entry.key)));
    slot.resolveMany(entry.outputs);
    this.size++;
    this.drain(slot);
  }

  snapshot(): AsyncStateEntry<TIn, TOut>[][] {
    const runs: AsyncStateEntry<TIn, TOut>[][] = [];
    for (const lane of this.lanes()) {
      const entries: AsyncStateEntry<TIn, TOut>[] = [];
      for (let slot = lane.head; slot !== undefined; slot = slot.next) {
        if (slot.pending) entries.push({ input: slot.input });
        else if (slot.outputs.length > 0) entries.push(this.completedEntry([...slot.outputs], lane));
      }
      if (entries.length > 0) for (const run of this.runsOf(entries)) runs.push(run);
    }
    return runs;
  }

  /** A lane's entries as runs: each record alone (one line for all keys), or one run per key (key-ordered). */
  protected runsOf(entries: AsyncStateEntry<TIn, TOut>[]): AsyncStateEntry<TIn, TOut>[][] {
    return entries.map((entry) => [entry]);
  }

  clear(): void {
    this.single.head = this.single.tail = undefined;
  }

  /** The lane of a new record. */
  protected laneOf(_input: TIn): Lane<TIn, TOut> {
    return this.single;
  }

  /** The lane of a restored entry (by its key in key-ordered mode). */
  protected laneFor(_key: Key | undefined): Lane<TIn, TOut> {
    return this.single;
  }

  protected lanes(): Iterable<Lane<TIn, TOut>> {
    return [this.single];
  }

  protected completedEntry(outputs: readonly TOut[], _lane: Lane<TIn, TOut>): AsyncStateEntry<TIn, TOut> {
    return { outputs };
  }

  /** A lane ran empty. */
  protected emptied(_lane: Lane<TIn, TOut>): void {}

  /** Emits every resolved slot at the head of `slot`'s lane. */
  private drain(slot: ResultSlot<TIn, TOut>): void {
    const lane = slot.lane;
    const out = this.out;
    let emitted = 0;
    let head = lane.head;
    while (head !== undefined && head.state !== PENDING) {
      lane.head = head.next;
      head.next = undefined;
      if (head.state === ONE) out.collect(head.value as TOut);
      else if (head.state === MANY) for (const v of head.value as readonly TOut[]) out.collect(v);
      head.value = undefined;
      emitted++;
      head = lane.head;
    }
    this.size -= emitted;
    if (head === undefined) {
      lane.tail = undefined;
      this.emptied(lane);
    }
  }

  private link(slot: ResultSlot<TIn, TOut>): ResultSlot<TIn, TOut> {
    const lane = slot.lane;
    if (lane.tail === undefined) lane.head = slot;
    else lane.tail.next = slot;
    lane.tail = slot;
    return slot;
  }
}
