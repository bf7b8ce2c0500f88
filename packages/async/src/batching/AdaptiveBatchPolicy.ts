import type { MetricGroup, ProcessingTimeService } from '@tributary/core';
import { BatchAccumulator, type BatchTriggers } from './BatchAccumulator.js';
import type { BatchOwner, BatchPolicy, CallOutcome, Tagger } from './BatchPolicy.js';
import { BatchSizeTuner, type TunerState } from './BatchSizeTuner.js';

/** The options of adaptive batching, resolved (`adaptive` on the batch operators). */
export interface AdaptiveBatching {
  /** Infinity: no latency target. */
  readonly targetLatency: number;
}

/** What the adaptive policy needs of the operator's options. */
export interface AdaptiveTriggers<TIn> extends BatchTriggers<TIn> {
  readonly adaptive: AdaptiveBatching;
  readonly maxInFlightBatches: number;
}

/**
 * Batches whose size and wait a {@link BatchSizeTuner} chooses from the
 * calls it observes, within `maxBatchSize` and `maxBatchDelay`. Records
 * collect as with fixed triggers (weight budget and batch keys included);
 * only the size and the wait move. The records held (`capacity`) follow the
 * chosen size: a batch per call slot and one ready for the next free slot,
 * which keeps every slot busy; more would only wait in line (the fixed
 * default holds two per slot), and records wait upstream instead, where a
 * slow-down found later cannot reach them.
 */
export class AdaptiveBatchPolicy<TIn, TTag> implements BatchPolicy<TIn> {
  private readonly tuner: BatchSizeTuner;
  private readonly batches: BatchAccumulator<TIn, TTag>;

  constructor(
    private readonly triggers: AdaptiveTriggers<TIn>,
    private readonly timers: ProcessingTimeService,
    tagger: Tagger<TIn, TTag> | undefined,
    owner: BatchOwner<TIn, TTag>,
    metrics: MetricGroup,
  ) {
    const tuner = new BatchSizeTuner({
      maxBatchSize: triggers.maxBatchSize,
      maxBatchDelay: triggers.maxBatchDelay,
      targetLatency: triggers.adaptive.targetLatency,
    });
    this.tuner = tuner;
    // Read on every record and timer, so each batch closes at the size and wait chosen last. A short
    // batch sent while the operator is full would make the batches after it come short too.
    const live: BatchTriggers<TIn> = {
      get maxBatchSize() {
        return tuner.size;
      },
      get maxBatchDelay() {
        return tuner.wait;
      },
      holdWhileFull: true,
      maxBatchWeight: triggers.maxBatchWeight,
      weigher: triggers.weigher,
      batchKey: triggers.batchKey,
      capacity: triggers.capacity,
    };
    this.batches = new BatchAccumulator(live, timers, tagger, owner);
    metrics.gauge('adaptiveBatchSize', () => tuner.size);
    metrics.gauge('adaptiveBatchDelayMs', () => tuner.wait);
  }

  get size(): number {
    return this.batches.size;
  }

  get capacity(): number {
    return Math.min(this.triggers.capacity, (this.triggers.maxInFlightBatches + 1) * this.tuner.size);
  }

  add(record: TIn): void {
    this.tuner.arrived(1, this.timers.currentProcessingTime());
    this.batches.add(record);
  }

  addAll(records: readonly TIn[]): void {
    this.tuner.arrived(records.length, this.timers.currentProcessingTime());
    this.batches.addAll(records);
  }

  flushAll(): void {
    this.batches.flushAll();
  }

  records(): Iterable<TIn> {
    return this.batches.records();
  }

  dispose(): void {
    this.batches.dispose();
  }

  observe(outcome: CallOutcome): void {
    this.tuner.observe(outcome);
    this.batches.sendWaiting();
  }

  snapshot(): TunerState {
    return this.tuner.snapshot();
  }

  restore(state: unknown, where: string): void {
    if (!isTunerState(state)) throw new Error(`cannot restore async operator ${where}: its list 'batchPolicy' does not hold an adaptive batching state`);
    this.tuner.restore(state);
  }
}

function isTunerState(value: unknown): value is TunerState {
  const s = value as Partial<TunerState> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.size === 'number' &&
    s.size >= 1 &&
    typeof s.arrivalRate === 'number' &&
    Number.isFinite(s.arrivalRate) &&
    s.arrivalRate >= 0 &&
    Array.isArray(s.fit) &&
    s.fit.length === 5 &&
    // Sums of weights, sizes, their squares, durations and their products: none negative, and weights only with records.
    s.fit.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) &&
    (s.fit[0] === 0 || s.fit[1] > 0) &&
    // A call answered at once (0 ms) leaves a ratio of 0.
    (s.spread === undefined || (Array.isArray(s.spread) && s.spread.every((x) => typeof x === 'number' && x >= 0 && Number.isFinite(x))))
  );
}
