import { collectGarbage, heapUsed } from './measure.js';

/** A record of the service-bound scenarios: an id and a ~100-byte text, like a short document. */
export interface Doc {
  readonly id: number;
  readonly text: string;
}

/** The "model" the simulated service runs: one number per document. */
export function embed(docs: readonly Doc[]): number[] {
  return docs.map((d) => d.id);
}

/**
 * Watches one run from the outside, the same way for every contender: the
 * source counts what it hands out, the sink what comes back, and the heap
 * is sampled from the source (every 1,024 records, so a synchronous
 * producer that never yields is still seen), from every service call, and
 * from a 10 ms interval. That peak includes garbage not yet collected; with
 * `liveHeapEvery`, the source also forces a full GC every that many records
 * and samples what survives: the live heap.
 */
export class FlowProbe {
  produced = 0;
  delivered = 0;
  sum = 0;
  peakInFlight = 0;
  calls = 0;
  batchedRecords = 0;
  /** `performance.now()` at the first record pulled and at the last output delivered: the span throughput is measured over. */
  firstPullAt: number | undefined;
  lastDeliveryAt: number | undefined;
  /** Records the source was asked for: the delivery of the last one stops the clock. */
  private expected = Number.POSITIVE_INFINITY;
  private peakHeap: number;
  private peakLiveHeap: number;
  private readonly heapAtStart: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly liveHeapEvery?: number) {
    this.heapAtStart = heapUsed();
    this.peakHeap = this.heapAtStart;
    this.peakLiveHeap = this.heapAtStart;
  }

  /** The input: `n` documents, produced lazily. */
  *source(n: number): Generator<Doc> {
    this.firstPullAt ??= performance.now();
    this.expected = n;
    for (let i = 0; i < n; i++) {
      this.produced++;
      const inFlight = this.produced - this.delivered;
      if (inFlight > this.peakInFlight) this.peakInFlight = inFlight;
      if ((i & 1023) === 0) this.sampleHeap();
      if (this.liveHeapEvery !== undefined && i > 0 && i % this.liveHeapEvery === 0) this.sampleLiveHeap();
      // padEnd allocates a fresh string, so each record really occupies ~100 bytes of heap.
      yield { id: i, text: `document ${i} `.padEnd(100, '.') };
    }
  }

  /** The sink: one output. */
  readonly deliver = (value: number): void => {
    this.sum += value;
    // Read the clock once, at the last output: not on every record of the measured flow.
    if (++this.delivered === this.expected) this.lastDeliveryAt = performance.now();
  };

  /** The sink: a batch of outputs. */
  readonly deliverAll = (values: readonly number[]): void => {
    for (const v of values) this.deliver(v);
  };

  /** Called by the service wrapper on every call. */
  onCall(size: number): void {
    this.calls++;
    this.batchedRecords += size;
    this.sampleHeap();
  }

  start(): void {
    this.timer = setInterval(() => {
      this.sampleHeap();
    }, 10);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sampleHeap();
  }

  get peakHeapDeltaBytes(): number {
    return Math.max(0, this.peakHeap - this.heapAtStart);
  }

  /** Undefined unless `liveHeapEvery` was given. */
  get peakLiveHeapDeltaBytes(): number | undefined {
    return this.liveHeapEvery === undefined ? undefined : Math.max(0, this.peakLiveHeap - this.heapAtStart);
  }

  private sampleLiveHeap(): void {
    collectGarbage();
    const h = heapUsed();
    if (h > this.peakLiveHeap) this.peakLiveHeap = h;
  }

  private sampleHeap(): void {
    const h = heapUsed();
    if (h > this.peakHeap) this.peakHeap = h;
  }
}
