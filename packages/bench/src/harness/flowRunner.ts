import { FakeBatchService, SystemClock } from '@tributary/testing';
import { FlowProbe, embed, type Doc } from './flowProbe.js';
import { collectGarbage, describeRun, median, rotation, type RunContext } from './measure.js';
import { contenderInfo, type Checksum, type Contender, type FlowContenderResult, type FlowScenarioResult, type FlowStats, type ScenarioId, type ServiceModel, type Target } from './model.js';
import { checkChecksum } from './checksums.js';
import { warmupRunsFor } from './sampling.js';
import { evaluateTargets, figureOf } from './targets.js';

/** What a contender of a service-bound scenario gets for one run. */
export interface ServiceParams {
  readonly records: number;
  readonly batchSize: number;
  readonly maxBatchDelayMs: number;
  /** Calls the service serves at once; every contender caps its in-flight calls at this. */
  readonly concurrency: number;
  /** Source, sink and meters: every contender reads `probe.source(records)` and writes to `probe.deliver`. */
  readonly probe: FlowProbe;
  /** Sends a batch to this run's simulated service; `ctx.signal` aborts the call (`FakeBatchService.call`'s options). */
  readonly call: (batch: readonly Doc[], ctx?: { readonly signal?: AbortSignal }) => Promise<number[]>;
}

/** A contender of a flow scenario; its runs need no `prepare` or `teardown`, and get none. */
export type FlowContender = Omit<Contender<ServiceParams, Checksum>, 'prepare' | 'teardown'>;

/** One measured configuration: a contender at a batch size over some records. */
export interface FlowPoint {
  readonly contender: FlowContender;
  readonly records: number;
  readonly batchSize: number;
}

/** A scenario against the simulated service (S1, its batch-size sweep, its memory run). */
export interface FlowScenario {
  readonly kind: 'flow';
  readonly id: ScenarioId;
  readonly title: string;
  readonly description: string;
  readonly service: ServiceModel;
  readonly targets: readonly Target[];
  /**
   * Run each configuration first, unmeasured, until it has made
   * `WARMUP_CALLS` calls (`warmupRunsFor`): S1's rate is a long-running job's.
   * Every run still starts with a forced GC, its heap baseline.
   */
  readonly warmUp?: boolean;
  /** Force a GC and sample the live heap every this many source records (the memory run). */
  readonly liveHeapEvery?: number;
  /** The configurations to measure, given the record count asked for (or the default). */
  points(records: number | undefined, quick: boolean): readonly FlowPoint[];
}

export interface FlowRunOptions extends RunContext {
  readonly records: number | undefined;
  readonly repetitions: number;
}

/** Records per second the service can take at most: `concurrency * b / (base + perItem * b)`. */
export function serviceBound(service: ServiceModel, batchSize: number): number {
  return (service.concurrency * batchSize * 1000) / (service.baseMs + service.perItemMs * batchSize);
}

/**
 * Runs one configuration once: a fresh `FakeBatchService` on the system
 * clock (the same implementation for every contender), a fresh probe, and
 * the wall time from the first pull to the last delivery.
 */
export async function runFlowPoint(point: FlowPoint, service: ServiceModel, liveHeapEvery?: number): Promise<FlowStats> {
  collectGarbage();
  const fake = new FakeBatchService<Doc, number>({
    clock: new SystemClock(),
    handler: embed,
    latency: { baseMs: service.baseMs, perItemMs: service.perItemMs },
    concurrency: service.concurrency,
    // A log of every call (with a copy of its inputs) would make every contender look unbounded.
    keepCallLog: false,
  });
  const probe = new FlowProbe(liveHeapEvery);
  const params: ServiceParams = {
    records: point.records,
    batchSize: point.batchSize,
    maxBatchDelayMs: service.maxBatchDelayMs,
    concurrency: service.concurrency,
    probe,
    call: (batch, ctx) => {
      probe.onCall(batch.length);
      return fake.call(batch, ctx);
    },
  };
  probe.start();
  const started = process.hrtime.bigint();
  let checksum: Checksum;
  try {
    checksum = await point.contender.run(params);
  } finally {
    probe.stop();
  }
  // Throughput is measured over the records' span, as for every contender: building and tearing
  // down a job (or a pipeline) is not the service's time.
  const { firstPullAt, lastDeliveryAt } = probe;
  const wallMs =
    firstPullAt !== undefined && lastDeliveryAt !== undefined ? lastDeliveryAt - firstPullAt : Number(process.hrtime.bigint() - started) / 1e6;
  return {
    count: checksum.count,
    sum: checksum.sum,
    peakInFlight: probe.peakInFlight,
    peakHeapDeltaBytes: probe.peakHeapDeltaBytes,
    ...(probe.peakLiveHeapDeltaBytes === undefined ? {} : { peakLiveHeapDeltaBytes: probe.peakLiveHeapDeltaBytes }),
    wallMs,
    calls: probe.calls,
    meanBatchSize: probe.calls === 0 ? 0 : probe.batchedRecords / probe.calls,
    serviceBusyMs: fake.busyMs,
  };
}

/**
 * Runs every configuration of a flow scenario, `repetitions` rounds in
 * rotated order, after its warm-up if the scenario has one (not in a quick
 * run); medians of throughput. Every run is in this process.
 */
export async function runFlowScenario(scenario: FlowScenario, options: FlowRunOptions): Promise<FlowScenarioResult> {
  const points = scenario.points(options.records, options.quick);
  const samples = new Map<FlowPoint, FlowStats[]>(points.map((p) => [p, []]));
  const s = scenario.service;
  options.log(
    `${scenario.id} ${scenario.title}: service ${s.baseMs} ms + ${s.perItemMs} ms/item, ${s.concurrency} calls at once, ` +
      `${points.length} configurations, ${options.repetitions} repetitions`,
  );
  // A per-record contender makes a call per record whatever the point's batch size.
  const warmupsOf = (p: FlowPoint): number =>
    scenario.warmUp === true ? warmupRunsFor(p.records, p.contender.recordsPerCall ?? p.batchSize, options.quick) : 0;
  for (const point of points) {
    const runs = warmupsOf(point);
    if (runs === 0) continue;
    options.log(`  warm-up: ${point.contender.id} b=${point.batchSize}, ${runs} runs`);
    for (let i = 0; i < runs; i++) checkChecksum(`${scenario.id} ${point.contender.id} warm-up`, expectedChecksum(point.records), await runFlowPoint(point, s));
  }
  for (let rep = 0; rep < options.repetitions; rep++) {
    for (const point of rotation(points, rep)) {
      const stats = await runFlowPoint(point, s, scenario.liveHeapEvery);
      samples.get(point)?.push(stats);
      const rate = (point.records / stats.wallMs) * 1000;
      options.log(
        `  rep ${rep + 1}: ${point.contender.id} b=${point.batchSize} ${point.records} records in ${stats.wallMs.toFixed(0)} ms = ` +
          `${((100 * rate) / serviceBound(s, point.batchSize)).toFixed(1)}% of bound, ` +
          `service busy ${((100 * stats.serviceBusyMs) / (s.concurrency * stats.wallMs)).toFixed(1)}%, peak in flight ${stats.peakInFlight}, ` +
          `heap +${(stats.peakHeapDeltaBytes / 2 ** 20).toFixed(1)} MB` +
          (stats.peakLiveHeapDeltaBytes === undefined ? '' : `, live heap +${(stats.peakLiveHeapDeltaBytes / 2 ** 20).toFixed(1)} MB`),
      );
    }
  }
  for (const point of points) {
    const expected = expectedChecksum(point.records);
    for (const [rep, got] of (samples.get(point) ?? []).entries()) {
      checkChecksum(`${scenario.id} ${point.contender.id} b=${point.batchSize} rep ${rep + 1}`, expected, got);
    }
  }

  const contenders: FlowContenderResult[] = points.map((p) => {
    const runs = samples.get(p) ?? [];
    const rate = median(runs.map((r) => (p.records / r.wallMs) * 1000));
    const bound = serviceBound(s, p.batchSize);
    return {
      ...contenderInfo(p.contender),
      records: p.records,
      batchSize: p.batchSize,
      boundRecordsPerSecond: bound,
      recordsPerSecond: rate,
      percentOfBound: (100 * rate) / bound,
      warmupRuns: warmupsOf(p),
      samples: runs,
    };
  });
  return {
    kind: 'flow',
    ...describeRun(scenario, options),
    service: s,
    repetitions: options.repetitions,
    contenders,
    // A contender measured at several batch sizes is judged at the first listed (the scenario's main size).
    targets: evaluateTargets(scenario.targets, (id) => figureOf(contenders, id, (c) => c.percentOfBound)),
  };
}

/** What every contender must deliver for `n` documents: one output each, the ids summed. */
export function expectedChecksum(n: number): Checksum {
  return { count: n, sum: (n * (n - 1)) / 2 };
}
