import type { CallOutcome } from './BatchPolicy.js';

/** The bounds and goal the tuner chooses within (the operator's options). */
export interface TunerBounds {
  readonly maxBatchSize: number;
  /** > 0: the tuner's wait never exceeds it. */
  readonly maxBatchDelay: number;
  /** Infinity: no latency target. */
  readonly targetLatency: number;
}

/** What a checkpoint keeps of a tuner, so a restore does not start learning again. */
export interface TunerState {
  readonly size: number;
  /** The weighted sums of the fit: weights, n, n², duration, n * duration. */
  readonly fit: readonly [number, number, number, number, number];
  /** Records per ms arriving, as last estimated. */
  readonly arrivalRate: number;
  /** Recent calls' durations over what the fit predicted for them, oldest first (absent in states of older versions). */
  readonly spread?: readonly number[];
}

/**
 * Weight an observation keeps per later one: about the last twenty calls count, enough for a fit through noisy
 * calls (a service whose calls take 2.5x as long half the time). A step change is followed at once (SURPRISE).
 */
const DECAY = 0.95;
/** Two calls in a row this far (as a share) beyond the spread of recent calls around the fit, the same way, are a change of service. */
const SURPRISE = 0.25;
/** Share of a call by which the fit's slope may be unsure at the mean size, and still be used (see model()). */
const SLOPE_PRECISION = 0.25;
/** Calls whose spread around the fit is kept: the second longest of 20, over its prediction, is about their 95th percentile. */
const SPREAD_CALLS = 20;
/** Overhead share of a call worth paying: past it, a bigger batch gains under 5% throughput (Beam's `target_batch_overhead`). */
const OVERHEAD_SHARE = 0.05;
/** Headroom under the latency target, beside the spread of call durations the tuner measures. */
const LATENCY_SHARE = 0.95;
/** Most a size grows per call: a fit misled by a change costs at most one batch this much too big. */
const GROWTH = 1.5;
/** Share of the size a new choice must differ by to be taken. */
const HYSTERESIS = 0.05;
/** A call this much smaller than the last tells overhead from per-record cost when the size would not move otherwise. */
const PROBE = 0.75;
/** Share of the fit's mean size within which a call is measured against the calls' mean cost per record. */
const NEAR_MEAN = 0.1;
/** A first guess no service should find too big. */
const FIRST_SIZE = 8;

/** A fitted call duration, `a * n + b`; `split` false while per-item cost cannot be told from overhead (then b is 0). */
interface Line {
  readonly a: number;
  readonly b: number;
  readonly split: boolean;
}

/** `x` to a millionth: the float error of a fit through many calls must not add or drop a record at a whole size. */
const toMicros = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * Chooses the next batch's size and wait from the calls it observes: it
 * fits a call's duration as `a * n + b` (per-item cost and overhead) over
 * recent calls, weighting the newest most, and picks the smallest size
 * whose overhead share is under 5% (bigger batches would add latency for
 * little throughput), capped so that two calls' time (one in line, one of
 * its own, as under backpressure) stays within the latency target (when
 * no size can, the size whose records cost half the call's overhead). A
 * noisy service's calls count at the 95th percentile of their recent spread
 * around the fit: the p95 is what the target bounds. Two calls in a row far
 * beyond that spread, the same way, mean the service changed: the fit starts
 * again from them, and calls started before then, which took the old
 * service's time, are left out.
 * The latency cap applies at once, before the next batch; otherwise the
 * size shrinks at most twofold per call. It grows at most 1.5x per call, on
 * calls started since it last grew (not compounding while many calls are
 * out), and only while calls succeed unthrottled (throttling is the concurrency
 * limiter's to answer), and never leaves `[1, maxBatchSize]` nor waits past
 * `maxBatchDelay`.
 * The wait is the time a batch takes to fill at the observed arrival rate,
 * within what the latency target leaves after the calls.
 */
export class BatchSizeTuner {
  /** The batch size chosen for the batches to come. */
  size: number;
  private readonly fit: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  /** Records arrived and the ms they took, each a sum that decays per update: their ratio is the arrival rate. */
  private arrivedRecords = 0;
  private arrivedSpan = 0;
  /** Per-item cost of the last fit that could tell it from overhead (NaN: none yet). */
  private slope = Number.NaN;
  /** Recent calls' durations over the fit's prediction for them (calls a split fit predicted), oldest first. */
  private readonly spread: number[] = [];
  /** A slow call's duration over the fitted one, and the standard deviation of that ratio (see noteSpread). */
  private slowCall = 1;
  private noise = 0;
  /** The size of a smaller call sent to tell overhead from per-record cost, until a call that size ends (0: none). */
  private probe = 0;
  /** The last call far beyond the spread, until the next tells a change (far off the same way) from noise. */
  private farOff: { n: number; t: number; ratio: number; verdict: 'slower' | 'faster' } | undefined;
  /** When the fit last started again for a change of service, on the operator's clock (ms). */
  private changedAt = Number.NEGATIVE_INFINITY;
  /** When the size last grew, on the operator's clock (ms): calls started before it were formed at an older size. */
  private grewAt = Number.NEGATIVE_INFINITY;
  private arrivals = 0;
  private arrivalsSince = Number.NaN;

  constructor(private readonly bounds: TunerBounds) {
    this.size = Math.min(bounds.maxBatchSize, FIRST_SIZE);
  }

  /** How long an open batch waits for more records, in ms: at least 1 (a lone record always goes), at most `maxBatchDelay`. */
  get wait(): number {
    const { maxBatchDelay, targetLatency } = this.bounds;
    const left = targetLatency === Number.POSITIVE_INFINITY ? maxBatchDelay : LATENCY_SHARE * targetLatency - 2 * this.slowCall * this.predict(this.size);
    // Twice the expected fill time: a batch not full by then waits on a lull, and waiting longer no longer pays.
    const fill = this.arrivalRate > 0 ? (2 * this.size) / this.arrivalRate : maxBatchDelay;
    return Math.max(1, Math.min(maxBatchDelay, toMicros(left), Math.ceil(fill)));
  }

  /** Records per ms arriving: 0 until the clock moved between arrivals. */
  get arrivalRate(): number {
    return this.arrivedSpan > 0 ? this.arrivedRecords / this.arrivedSpan : 0;
  }

  /**
   * `count` records arrived at `now`; updated each time the clock moved. Records and time are averaged
   * apart: an average of the rates themselves (1 / gap) reads random arrivals 2-4x too fast.
   */
  arrived(count: number, now: number): void {
    if (Number.isNaN(this.arrivalsSince)) this.arrivalsSince = now;
    this.arrivals += count;
    const elapsed = now - this.arrivalsSince;
    if (elapsed <= 0) return;
    this.arrivedRecords = DECAY * this.arrivedRecords + this.arrivals;
    this.arrivedSpan = DECAY * this.arrivedSpan + elapsed;
    this.arrivals = 0;
    this.arrivalsSince = now;
  }

  observe(outcome: CallOutcome): void {
    // Throttling is the concurrency limiter's to answer: the call's duration is not the service's cost.
    if (outcome.throttled) return;
    // A failed call's duration says nothing about the service's cost.
    if (outcome.failed || outcome.size === 0) return;
    // Started before the fit started again, it took the service's old time: the fit would mix the two services.
    if (outcome.startedAt < this.changedAt) return;
    const n = outcome.size;
    const t = outcome.durationMs;
    const before = this.farOff;
    const verdict = this.classify(n, t);
    // Far off: the next call tells a change from noise. Fitted now, it would move the fit (calls of 8-62 records
    // weigh a 62 heavily) so far that the next call of the changed service would look like the fit. Slower than
    // the spread allows, it sizes the batches until then as if it were the service: waiting to cut would send
    // another batch of the old size into the slot it frees (S8's slow-down: p95 556 ms where 237 ms do).
    if (verdict === 'slower' || verdict === 'faster') {
      if (verdict === 'slower') this.size = Math.min(this.size, this.affordable({ a: t / n, b: 0, split: false }));
      return;
    }
    const changed = verdict === 'changed';
    if (changed) {
      // The service changed: the past would only mislead, and the slope learned from it too.
      this.changedAt = outcome.startedAt + t;
      this.fit.fill(0);
      this.slope = Number.NaN;
    }
    // The call far off before this one was noise, or the first of the change (the fit starts from the two): it
    // joins the fit first.
    if (before !== undefined) this.fitCall(before.n, before.t);
    this.fitCall(n, t);
    if (this.probe !== 0) {
      // Batches formed before the probe still end: they join the fit, and the probe's own call decides.
      if (n > this.probe && !changed) return;
      this.probe = 0;
    }
    // Only a call started since the size last grew grows it: with 8 calls out, the ends of 8 calls of the old size
    // would compound 1.5x eight times (25x) before a call of the new size came back.
    const grown = outcome.startedAt >= this.grewAt ? Math.ceil(this.size * GROWTH) : this.size;
    // Throughput moves the size at most twofold down per call. The latency target cuts at once, to
    // what the fit affords: the calls of the old size still ending then cut no further.
    let next = Math.max(1, Math.min(Math.max(Math.floor(this.size / 2), this.efficient()), this.affordable(), grown, this.bounds.maxBatchSize));
    // Calls of one size cannot tell overhead from per-record cost, and the whole cost taken as per-record can hold the
    // size where it is for good (110 ms a call of any size, near the target): a smaller call, never over the target,
    // tells. So does a slope kept from calls long past: a service that changed within the noise at this size (1 ms a
    // record + 20 to 0.005 ms + 115, at 98 records) would keep the old slope and the size for good.
    const stays = Math.abs(next - this.size) <= HYSTERESIS * this.size;
    if (stays && n === this.size && this.line()?.measured !== true && n > 1 && n < this.bounds.maxBatchSize) {
      next = Math.floor(n * PROBE);
      this.probe = next;
    }
    // Moves under 5% are noise of the fit; each move costs a short batch while the operator's capacity follows.
    if (Math.abs(next - this.size) > HYSTERESIS * this.size) {
      if (next > this.size) this.grewAt = outcome.startedAt + t;
      this.size = next;
    }
  }

  /** Adds a call to the fit, the calls before it weighing `DECAY` less. */
  private fitCall(n: number, t: number): void {
    const f = this.fit;
    for (let i = 0; i < f.length; i++) f[i] = (f[i] as number) * DECAY;
    f[0] += 1;
    f[1] += n;
    f[2] += n * n;
    f[3] += t;
    f[4] += n * t;
  }

  snapshot(): TunerState {
    return { size: this.size, fit: [...this.fit], arrivalRate: this.arrivalRate, spread: [...this.spread] };
  }

  restore(state: TunerState): void {
    this.size = Math.min(this.bounds.maxBatchSize, Math.max(1, Math.floor(state.size)));
    for (let i = 0; i < this.fit.length; i++) this.fit[i] = state.fit[i] as number;
    this.spread.splice(0, this.spread.length, ...(state.spread ?? []).slice(-SPREAD_CALLS));
    this.noteSpread();
    // The rate learned, as if from one ms of arrivals: the updates after the restore soon outweigh it.
    this.arrivedRecords = state.arrivalRate;
    this.arrivedSpan = state.arrivalRate > 0 ? 1 : 0;
  }

  /**
   * A call of `n` records taking `t` ms against a fit that tells per-item cost from overhead: in line with the
   * recent spread (`near`), far beyond it (`slower`, `faster`: kept in `farOff` until the next call), or the
   * second in a row far beyond it the same way (`changed`: the service changed). A lone call far off is noise:
   * its ratio joins the spread when the next call is not far off the same way (only a split fit's ratios are the
   * service's noise, not the model's error), so a service whose calls often take 2.5x others stops looking
   * changed after the first few.
   */
  private classify(n: number, t: number): 'near' | 'slower' | 'faster' | 'changed' {
    const before = this.farOff;
    this.farOff = undefined;
    const line = this.line();
    if (line?.split !== true) return 'near';
    // A line whose overhead was cut at 0 (its fit crosses zero) predicts over every call of the sizes it fitted: padded
    // calls of 60-170 ms at 31 records, around a steep noisy slope, had a spread of 1.06 around its 155 ms, and the
    // size was capped as if no call took over 117 ms (p95 310 ms against 250). The calls' mean cost per record does
    // not, near their mean size; farther off it errs as the model, not as the service (calls of 1 and 2 records).
    const [w, sn, , st] = this.fit;
    const perRecord = line.b <= 0 && Math.abs(n - sn / w) <= NEAR_MEAN * (sn / w);
    const expected = this.predict(n, perRecord ? { a: st / sn, b: 0, split: false } : line);
    if (!(expected > 0)) return 'near';
    const ratio = t / expected;
    const spread = this.spread;
    const verdict = ratio > (1 + SURPRISE) * Math.max(1, ...spread) ? 'slower' : ratio < (1 - SURPRISE) * Math.min(1, ...spread) ? 'faster' : 'near';
    if (verdict !== 'near' && before?.verdict === verdict) return 'changed';
    if (before !== undefined) this.noteRatio(before.ratio);
    if (verdict === 'near') this.noteRatio(ratio);
    else this.farOff = { n, t, ratio, verdict };
    return verdict;
  }

  private noteRatio(ratio: number): void {
    this.spread.push(ratio);
    if (this.spread.length > SPREAD_CALLS) this.spread.shift();
    this.noteSpread();
  }

  /**
   * A slow call's duration over the fitted one: the second longest of the recent calls', about their 95th
   * percentile, and never under 1 (the second, so that the one call that found a change does not count); and
   * the noise of the calls around the fit.
   * Kept, as the wait is read on every record; to a thousandth, as the float error of an exact fit is no spread.
   */
  private noteSpread(): void {
    const sorted = [...this.spread].sort((x, y) => y - x);
    this.slowCall = Math.max(1, Math.round((sorted[1] ?? 1) * 1000) / 1000);
    // Without the longest and the shortest: the calls that found a change of service are not its noise.
    const inner = sorted.slice(1, -1);
    const mean = inner.reduce((sum, x) => sum + x, 0) / inner.length;
    const variance = inner.reduce((sum, x) => sum + (x - mean) ** 2, 0) / inner.length;
    this.noise = inner.length < 3 ? 0 : Math.round(Math.sqrt(variance) * 1000) / 1000;
  }

  /** The smallest size whose overhead share is under 5%; `maxBatchSize` while the fit cannot tell per-item cost from overhead. */
  private efficient(): number {
    const line = this.model();
    const max = this.bounds.maxBatchSize;
    // No measurable per-item cost: only the overhead counts, so bigger is better.
    if (line === undefined || !line.split || line.a <= 0) return max;
    // No overhead at all: the calls cost more than in proportion to their size (10 ms + 0.01 ms x n², whose line
    // through calls of 40-90 records crosses zero). The rule would shrink to 1 record, where the overhead is all of a
    // call, then grow again, for good: the size stays, within the latency cap.
    if (line.b <= 0) return this.size;
    return Math.max(1, Math.min(max, Math.ceil(toMicros(((1 - OVERHEAD_SHARE) / OVERHEAD_SHARE) * (line.b / line.a)))));
  }

  /**
   * The biggest size whose call fits twice (one in line, one of its own, each as slow as the recent spread makes
   * a slow call) in 95% of the target; `maxBatchSize` without one. When not even one record fits (the overhead
   * alone breaks the target), no size meets it, and shrinking would only cost throughput: the size whose records
   * cost half the call's overhead, whose call is within 1.5x the shortest any size gives.
   */
  private affordable(line = this.model()): number {
    const target = this.bounds.targetLatency;
    const max = this.bounds.maxBatchSize;
    if (target === Number.POSITIVE_INFINITY || line === undefined || line.a <= 0) return max;
    const room = (LATENCY_SHARE * target) / (2 * this.slowCall) - line.b;
    const perRecordBudget = room >= line.a ? room : line.b / 2;
    return Math.max(1, Math.min(max, Math.floor(toMicros(perRecordBudget / line.a))));
  }

  /** The fitted duration of a call of `n` records; 0 before any fit. */
  private predict(n: number, line = this.model()): number {
    return line === undefined ? 0 : Math.max(0, line.a) * n + line.b;
  }

  /**
   * What the sizes rest on: the fit while the calls' noise leaves its slope known (two standard errors of it
   * move a call of the mean size by under a quarter of the call; always, for calls without noise), else the
   * whole cost taken as per-item, as before any slope. A noisy service's calls of a few near sizes fit any
   * slope, and a steep one would cap the size at a few records.
   */
  private model(): Line | undefined {
    const line = this.line();
    if (line === undefined || !line.split || this.noise === 0) return line;
    const [w, sn, snn, st] = this.fit;
    const meanN = sn / w;
    const meanT = st / w;
    const standardError = (this.noise * meanT) / Math.sqrt(w * (snn / w - meanN * meanN));
    return 2 * standardError * meanN <= SLOPE_PRECISION * meanT ? line : { a: st / sn, b: 0, split: false };
  }

  /**
   * Weighted least squares of duration on size. While the recent sizes
   * barely differ, the last slope is kept and a change of duration is put
   * on the overhead. With no slope yet (or since the service changed), the
   * whole cost is taken as per-item (`split` false): that caps the size
   * for the latency target from what the calls showed, without deciding
   * the overhead share; the size then moves, and the next fit sees both.
   * `measured`: the recent sizes differed enough to measure the slope now.
   * Undefined before any call.
   */
  private line(): (Line & { readonly measured: boolean }) | undefined {
    const [w, sn, snn, st, snt] = this.fit;
    if (w === 0) return undefined;
    const meanN = sn / w;
    const meanT = st / w;
    const varN = snn / w - meanN * meanN;
    const measured = varN >= (0.02 * meanN) ** 2;
    if (measured) this.slope = (snt / w - meanN * meanT) / varN;
    if (Number.isNaN(this.slope)) return { a: meanT / meanN, b: 0, split: false, measured };
    return { a: this.slope, b: Math.max(0, meanT - this.slope * meanN), split: true, measured };
  }
}
