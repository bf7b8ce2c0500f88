import { describeValue, type ProcessingTimeService } from '@tributary/core';
import type { BatchOwner, BatchPolicy, CallOutcome, Tagger } from './BatchPolicy.js';

/** When an open batch is sent (see the operator options of the same names). */
export interface BatchTriggers<TIn> {
  readonly maxBatchSize: number;
  /** 0: no time trigger. */
  readonly maxBatchDelay: number;
  /** Infinity: no weight budget. */
  readonly maxBatchWeight: number;
  readonly weigher: ((input: TIn) => number) | undefined;
  readonly batchKey: ((input: TIn) => unknown) | undefined;
  readonly capacity: number;
  /**
   * A batch past its delay stays open while the operator is full, or while
   * no call could start (re-checked a delay later, and as calls end): sent
   * then, it would only wait in line, and a line of short batches takes a
   * whole call each for few records. Adaptive batching only; fixed delays
   * are promises.
   */
  readonly holdWhileFull?: boolean;
}

/** Records collecting until a trigger fires; one per batch key. */
class OpenBatch<TIn, TTag> {
  records: TIn[] = [];
  tags: TTag[] | undefined;
  weight = 0;
  firstArrival = 0;
  /** The armed delay timer, if any: it may be one set for an earlier batch (see `startTimer`). */
  cancelTimer: (() => void) | undefined = undefined;
  /** Past its delay, kept open while the operator was full (see `BatchTriggers.holdWhileFull`). */
  held = false;

  constructor(
    readonly key: unknown,
    withTags: boolean,
  ) {
    this.tags = withTags ? [] : undefined;
  }
}

/**
 * Today's batch policy: fixed size, weight budget and delay (from the
 * batch's first record) triggers, one open batch per `batchKey`. Each
 * record may carry a tag (the ordered modes' result slot) that travels
 * with it. Owner and tagger are objects, not closures, so the hot path's
 * call sites stay monomorphic.
 */
export class BatchAccumulator<TIn, TTag> implements BatchPolicy<TIn> {
  /** Records in open batches. */
  size = 0;
  private readonly single: OpenBatch<TIn, TTag> | undefined;
  private readonly byKey = new Map<unknown, OpenBatch<TIn, TTag>>();

  constructor(
    private readonly triggers: BatchTriggers<TIn>,
    private readonly timers: ProcessingTimeService,
    private readonly tagger: Tagger<TIn, TTag> | undefined,
    private readonly owner: BatchOwner<TIn, TTag>,
  ) {
    this.single = triggers.batchKey === undefined ? new OpenBatch<TIn, TTag>(undefined, tagger !== undefined) : undefined;
  }

  add(record: TIn): void {
    const t = this.triggers;
    const tag = this.tagger?.append(record);
    let batch = this.single ?? this.keyed(record);
    if (t.weigher !== undefined) {
      const weight = t.weigher(record);
      if (typeof weight !== 'number' || !(weight >= 0) || weight === Number.POSITIVE_INFINITY) {
        throw new TypeError(`the weigher returned ${describeValue(weight)}; weights must be finite numbers >= 0`);
      }
      // Close the batch before it would exceed the budget; a record heavier than the budget then travels alone.
      if (batch.records.length > 0 && batch.weight + weight > t.maxBatchWeight) {
        this.flush(batch);
        if (this.single === undefined) batch = this.keyed(record);
      }
      batch.weight += weight;
    }
    const n = batch.records.push(record);
    if (batch.tags !== undefined) batch.tags.push(tag as TTag);
    this.size++;
    if (n === 1) this.opened(batch);
    if (n >= t.maxBatchSize || batch.weight >= t.maxBatchWeight) this.flush(batch);
    else if (n === 1) this.startTimer(batch);
  }

  /**
   * Without a weigher or batch key, runs of records go into the open batch
   * with one copy each, and the delay timer is armed once, at the end, if a
   * batch is left open (a batch that opens and fills within one chunk arms none).
   */
  addAll(records: readonly TIn[]): void {
    const batch = this.single;
    if (batch === undefined || this.triggers.weigher !== undefined) {
      for (let i = 0; i < records.length; i++) this.add(records[i] as TIn);
      return;
    }
    const tagger = this.tagger;
    const max = this.triggers.maxBatchSize;
    for (let from = 0; from < records.length; ) {
      const open = batch.records.length;
      if (open >= max) {
        // The size shrank below what the batch holds (adaptive batching): it goes as it is.
        this.flush(batch);
        continue;
      }
      const to = Math.min(records.length, from + max - open);
      if (open === 0) {
        batch.records = records.slice(from, to);
        this.opened(batch);
      } else {
        for (let i = from; i < to; i++) batch.records.push(records[i] as TIn);
      }
      if (tagger !== undefined) for (let i = from; i < to; i++) (batch.tags as TTag[]).push(tagger.append(records[i] as TIn));
      this.size += to - from;
      from = to;
      if (batch.records.length >= max) this.flush(batch);
    }
    if (batch.records.length > 0) this.startTimer(batch);
  }

  get capacity(): number {
    return this.triggers.capacity;
  }

  /** Fixed triggers: outcomes change nothing. */
  observe(_outcome: CallOutcome): void {}

  /** Fixed triggers learn nothing. */
  snapshot(): undefined {
    return undefined;
  }

  /** An adaptive run's state restored into fixed triggers has nothing to set. */
  restore(_state: unknown, _where: string): void {}

  flushAll(): void {
    if (this.single !== undefined) {
      if (this.single.records.length > 0) this.flush(this.single);
      return;
    }
    for (const batch of [...this.byKey.values()]) this.flush(batch);
  }

  *records(): Generator<TIn> {
    const batches = this.single !== undefined ? [this.single] : this.byKey.values();
    for (const batch of batches) yield* batch.records;
  }

  dispose(): void {
    const batches = this.single !== undefined ? [this.single] : [...this.byKey.values()];
    for (const batch of batches) {
      batch.cancelTimer?.();
      batch.cancelTimer = undefined;
      batch.records = [];
      batch.tags = this.tagger !== undefined ? [] : undefined;
      batch.weight = 0;
    }
    this.byKey.clear();
    this.size = 0;
  }

  /** A call ended: open batches past their delay go while a call can start (see `holds`). */
  sendWaiting(): void {
    if (this.triggers.holdWhileFull !== true) return;
    const now = this.timers.currentProcessingTime();
    const batches = this.single !== undefined ? [this.single] : [...this.byKey.values()];
    for (const batch of batches) {
      if (batch.records.length > 0 && now >= batch.firstArrival + this.triggers.maxBatchDelay && !this.holds(batch)) this.flush(batch);
    }
  }

  /**
   * Whether a batch past its delay stays open (`holdWhileFull`): while no call could start, sent it would
   * only wait in line; once the operator, full before, has room again, one more wait for the records it
   * lets in. With a call slot free and the operator full it goes: it cannot grow (open batches of other
   * `batchKey`s may hold the rest of the capacity).
   */
  private holds(batch: OpenBatch<TIn, TTag>): boolean {
    return !this.owner.callSlotFree || (batch.held && !this.owner.atCapacity);
  }

  private keyed(record: TIn): OpenBatch<TIn, TTag> {
    const key = (this.triggers.batchKey as (input: TIn) => unknown)(record);
    let batch = this.byKey.get(key);
    if (batch === undefined) {
      batch = new OpenBatch<TIn, TTag>(key, this.tagger !== undefined);
      this.byKey.set(key, batch);
    }
    return batch;
  }

  /** The batch got its first record: its delay runs from now (the timer is armed only if it stays open). */
  private opened(batch: OpenBatch<TIn, TTag>): void {
    batch.firstArrival = this.timers.currentProcessingTime();
  }

  /**
   * Arms the delay timer of a batch left open. The single batch keeps its
   * timer across size flushes and re-arms it on firing for the open batch's
   * own deadline: an earlier batch's timer never flushes a newer one early
   * (FLINK-38825), and full batches arm one timer per delay, not one each.
   */
  private startTimer(batch: OpenBatch<TIn, TTag>): void {
    if (this.triggers.maxBatchDelay === 0) return;
    if (batch.cancelTimer !== undefined) return; // armed for an earlier deadline: it re-arms when it fires
    this.armTimer(batch, batch.firstArrival + this.triggers.maxBatchDelay);
  }

  private armTimer(batch: OpenBatch<TIn, TTag>, at: number): void {
    batch.cancelTimer = this.timers.registerTimer(at, () => {
      batch.cancelTimer = undefined;
      if (batch.records.length === 0) return;
      const deadline = batch.firstArrival + this.triggers.maxBatchDelay;
      // Now, not `at`: a timer firing late, after the open batch's deadline, flushes it at once.
      const now = this.timers.currentProcessingTime();
      if (now < deadline) {
        this.armTimer(batch, deadline);
      } else if (this.triggers.holdWhileFull === true && this.holds(batch)) {
        batch.held = this.owner.atCapacity;
        this.armTimer(batch, now + this.triggers.maxBatchDelay);
      } else {
        this.flush(batch);
      }
    });
  }

  private flush(batch: OpenBatch<TIn, TTag>): void {
    const { records, tags, weight, firstArrival } = batch;
    batch.records = [];
    batch.tags = this.tagger !== undefined ? [] : undefined;
    batch.weight = 0;
    batch.held = false;
    if (this.single === undefined) {
      // A keyed batch is dropped once sent, so keys seen once do not pile up; its timer goes with it.
      batch.cancelTimer?.();
      batch.cancelTimer = undefined;
      this.byKey.delete(batch.key);
    }
    this.size -= records.length;
    this.owner.batchClosed(records, tags, weight, firstArrival);
  }
}
