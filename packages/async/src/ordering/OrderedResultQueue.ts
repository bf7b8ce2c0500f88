import type { Collector, Key } from '@tributary/core';

const PENDING = 0;
const NONE = 1;
const ONE = 2;
const MANY = 3;

/** One input record's place in the output order, and its result once known. */
export class ResultSlot<TIn, TOut> {
  state: typeof PENDING | typeof NONE | typeof ONE | typeof MANY = PENDING;
  value: TOut | readonly TOut[] | undefined = undefined;
  next: ResultSlot<TIn, TOut> | undefined = undefined;

  constructor(
    readonly input: TIn,
    readonly lane: Lane<TIn, TOut>,
  ) {}

  get pending(): boolean {
    return this.state === PENDING;
  }

  /** This record's result is no output at all (dead-lettered, or its batch's outputs sit on an earlier slot). */
  resolveNone(): void {
    this.state = NONE;
  }

  resolveOne(value: TOut): void {
    this.state = ONE;
    this.value = value;
  }

  resolveMany(values: readonly TOut[]): void {
    this.state = values.length === 0 ? NONE : MANY;
    this.value = values;
  }
}

/** Slots that must be emitted in order: all of them (`ordered`) or one key's (`key-ordered`). */
class Lane<TIn, TOut> {
  head: ResultSlot<TIn, TOut> | undefined = undefined;
  tail: ResultSlot<TIn, TOut> | undefined = undefined;
  constructor(readonly key: Key | undefined) {}
}

/** A snapshot entry of a completed slot waiting for earlier ones: its outputs, and its key in `key-ordered` mode. */
export interface CompletedEntry<TOut> {
  readonly outputs: readonly TOut[];
  readonly key?: Key;
}

/**
 * Emits results in input order, per lane: Flink's ordered stream element
 * queue, as a linked list of slots. `ordered` has a single lane;
 * `key-ordered` has a lane per key, so a slow key never holds back another.
 * A slot is emitted once it and every slot before it in its lane resolved.
 */
export class OrderedResultQueue<TIn, TOut> {
  private readonly single: Lane<TIn, TOut> | undefined;
  private readonly lanes = new Map<Key, Lane<TIn, TOut>>();

  constructor(
    /** The key of a record in `key-ordered` mode; undefined for `ordered`. */
    private readonly keyOf: ((input: TIn) => Key) | undefined,
    /** Receives the outputs of each record as it leaves the queue. */
    private readonly out: Collector<TOut>,
  ) {
    this.single = keyOf === undefined ? new Lane<TIn, TOut>(undefined) : undefined;
  }

  /** Takes the next place in line for `input`. */
  append(input: TIn): ResultSlot<TIn, TOut> {
    return this.link(new ResultSlot(input, this.laneFor(this.keyOf?.(input))));
  }

  /** Takes the next place in line for an already completed result (restored from a snapshot). */
  appendCompleted(entry: CompletedEntry<TOut>): ResultSlot<TIn, TOut> {
    const slot = this.link(new ResultSlot<TIn, TOut>(undefined as TIn, this.laneFor(this.keyOf === undefined ? undefined : entry.key)));
    slot.resolveMany(entry.outputs);
    return slot;
  }

  /** Emits every resolved slot at the head of `slot`'s lane; returns how many records left the queue. */
  drain(slot: ResultSlot<TIn, TOut>): number {
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
    if (head === undefined) {
      lane.tail = undefined;
      if (lane.key !== undefined && this.lanes.get(lane.key) === lane) this.lanes.delete(lane.key);
    }
    return emitted;
  }

  /** The outputs a completed slot still holds (for snapshots). */
  static outputsOf<TOut>(slot: ResultSlot<unknown, TOut>): readonly TOut[] {
    return slot.state === ONE ? [slot.value as TOut] : slot.state === MANY ? (slot.value as readonly TOut[]) : [];
  }

  /** Every slot still held, in order within each lane. */
  *slots(): Generator<ResultSlot<TIn, TOut>> {
    const lanes = this.single !== undefined ? [this.single] : this.lanes.values();
    for (const lane of lanes) for (let s = lane.head; s !== undefined; s = s.next) yield s;
  }

  /** Forgets every slot (the operator closed). */
  clear(): void {
    if (this.single !== undefined) this.single.head = this.single.tail = undefined;
    this.lanes.clear();
  }

  private laneFor(key: Key | undefined): Lane<TIn, TOut> {
    if (this.single !== undefined) return this.single;
    let lane = this.lanes.get(key as Key);
    if (lane === undefined) {
      lane = new Lane<TIn, TOut>(key);
      this.lanes.set(key as Key, lane);
    }
    return lane;
  }

  private link(slot: ResultSlot<TIn, TOut>): ResultSlot<TIn, TOut> {
    const lane = slot.lane;
    if (lane.tail === undefined) lane.head = slot;
    else lane.tail.next = slot;
    lane.tail = slot;
    return slot;
  }
}
