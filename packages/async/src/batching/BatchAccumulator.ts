import type { ProcessingTimeService } from '@tributary/core';

/** When an open batch is sent (see the operator options of the same names). */
export interface BatchTriggers<TIn> {
  readonly maxBatchSize: number;
  /** 0: no time trigger. */
  readonly maxBatchDelay: number;
  /** Infinity: no weight budget. */
  readonly maxBatchWeight: number;
  readonly weigher: ((input: TIn) => number) | undefined;
  readonly batchKey: ((input: TIn) => unknown) | undefined;
}

/** Receives each batch the accumulator closes, in the order they close. */
export type FlushHandler<TIn, TTag> = (records: TIn[], tags: TTag[] | undefined, weight: number, firstArrival: number) => void;

/** Records collecting until a trigger fires; one per batch key. */
class OpenBatch<TIn, TTag> {
  records: TIn[] = [];
  tags: TTag[] | undefined;
  weight = 0;
  firstArrival = 0;
  /**
   * Bumped at every flush. The delay timer remembers the generation it was
   * set for, so a timer of an earlier batch can never flush a newer one
   * early (the FLINK-38825 review finding), even if cancelling it raced.
   */
  generation = 0;
  cancelTimer: (() => void) | undefined = undefined;

  constructor(
    readonly key: unknown,
    withTags: boolean,
  ) {
    this.tags = withTags ? [] : undefined;
  }
}

/**
 * Forms batches from records: size, weight budget and delay (from the
 * batch's first record) triggers, one open batch per `batchKey`. It never
 * produces an empty batch. Each record may carry a tag (the ordered modes'
 * result slot) that travels with it.
 */
export class BatchAccumulator<TIn, TTag> {
  /** Records in open batches. */
  size = 0;
  private readonly single: OpenBatch<TIn, TTag> | undefined;
  private readonly byKey = new Map<unknown, OpenBatch<TIn, TTag>>();

  constructor(
    private readonly triggers: BatchTriggers<TIn>,
    private readonly timers: ProcessingTimeService,
    private readonly withTags: boolean,
    private readonly onFlush: FlushHandler<TIn, TTag>,
  ) {
    this.single = triggers.batchKey === undefined ? new OpenBatch<TIn, TTag>(undefined, withTags) : undefined;
  }

  add(record: TIn, tag: TTag | undefined): void {
    const t = this.triggers;
    let batch = this.single ?? this.keyed(record);
    if (t.weigher !== undefined) {
      const weight = t.weigher(record);
      if (typeof weight !== 'number' || !(weight >= 0) || weight === Number.POSITIVE_INFINITY) {
        throw new TypeError(`the weigher returned ${String(weight)}; weights must be finite numbers >= 0`);
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
    if (n === 1) {
      batch.firstArrival = this.timers.currentProcessingTime();
      if (t.maxBatchDelay > 0) this.startTimer(batch);
    }
    if (n >= t.maxBatchSize || batch.weight >= t.maxBatchWeight) this.flush(batch);
  }

  /** Closes every non-empty open batch (end of input, a full operator, restore). */
  flushAll(): void {
    if (this.single !== undefined) {
      if (this.single.records.length > 0) this.flush(this.single);
      return;
    }
    for (const batch of [...this.byKey.values()]) this.flush(batch);
  }

  /** Every buffered record with its tag, oldest batch first (for snapshots). */
  *entries(): Generator<[TIn, TTag | undefined]> {
    const batches = this.single !== undefined ? [this.single] : this.byKey.values();
    for (const batch of batches) {
      for (let i = 0; i < batch.records.length; i++) yield [batch.records[i] as TIn, batch.tags?.[i]];
    }
  }

  /** Drops every open batch and its timer. */
  dispose(): void {
    const batches = this.single !== undefined ? [this.single] : [...this.byKey.values()];
    for (const batch of batches) {
      batch.cancelTimer?.();
      batch.cancelTimer = undefined;
      batch.generation++;
      batch.records = [];
      batch.tags = this.withTags ? [] : undefined;
      batch.weight = 0;
    }
    this.byKey.clear();
    this.size = 0;
  }

  private keyed(record: TIn): OpenBatch<TIn, TTag> {
    const key = (this.triggers.batchKey as (input: TIn) => unknown)(record);
    let batch = this.byKey.get(key);
    if (batch === undefined) {
      batch = new OpenBatch<TIn, TTag>(key, this.withTags);
      this.byKey.set(key, batch);
    }
    return batch;
  }

  private startTimer(batch: OpenBatch<TIn, TTag>): void {
    const generation = batch.generation;
    batch.cancelTimer = this.timers.registerTimer(batch.firstArrival + this.triggers.maxBatchDelay, () => {
      if (batch.generation !== generation) return;
      batch.cancelTimer = undefined;
      if (batch.records.length > 0) this.flush(batch);
    });
  }

  private flush(batch: OpenBatch<TIn, TTag>): void {
    const { records, tags, weight, firstArrival } = batch;
    batch.generation++;
    batch.cancelTimer?.();
    batch.cancelTimer = undefined;
    batch.records = [];
    batch.tags = this.withTags ? [] : undefined;
    batch.weight = 0;
    // A keyed batch is dropped once sent, so keys seen once do not pile up.
    if (this.single === undefined) this.byKey.delete(batch.key);
    this.size -= records.length;
    this.onFlush(records, tags, weight, firstArrival);
  }
}
