import { AsyncDataStream } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import type { Doc } from '../harness/flowProbe.js';
import type { FlowContender, FlowPoint, FlowScenario, ServiceParams } from '../harness/flowRunner.js';
import type { Checksum, ServiceModel } from '../harness/model.js';
import { EFFECT_NOTE, HAND_LOOP_NOTE, RXJS_NOTE, runEffect, runHandLoop, runRxjs, runTributary, type BatchPipeline } from './batchPipelines.js';

/** S1's service (issue 3): 10 ms + 0.05 ms per item, 4 calls served at once; batches of 64 or 5 ms. */
export const S1_SERVICE: ServiceModel = { baseMs: 10, perItemMs: 0.05, concurrency: 4, maxBatchDelayMs: 5 };
export const S1_BATCH = 64;
/** Per-record calls with at most this many in flight: the service's own concurrency. */
export const PER_RECORD_CAPACITY = 4;

function pipelineOf(p: ServiceParams): BatchPipeline<Doc, number> {
  return {
    source: () => p.probe.source(p.records),
    call: p.call,
    deliver: p.probe.deliver,
    deliverAll: p.probe.deliverAll,
    result: (): Checksum => ({ count: p.probe.delivered, sum: p.probe.sum }),
    batchSize: p.batchSize,
    maxBatchDelayMs: p.maxBatchDelayMs,
    concurrency: p.concurrency,
  };
}

function tributaryBatch(ordered: boolean): FlowContender {
  const id = ordered ? 'tributary-ordered' : 'tributary';
  const method = ordered ? 'orderedWaitBatch' : 'unorderedWaitBatch';
  return {
    id,
    label: `Tributary ${method}`,
    note: `\`AsyncDataStream.${method}(env.fromCollection(source), call, { maxBatchSize, maxBatchDelay, maxInFlightBatches: ${S1_SERVICE.concurrency}, capacity: 2 * size * ${S1_SERVICE.concurrency} })\`, parallelism 1`,
    extra: ordered,
    run: (p) => runTributary(pipelineOf(p), ordered, `${id} S1`),
  };
}

function tributaryPerRecord(): FlowContender {
  return {
    id: 'tributary-per-record',
    label: 'Tributary unorderedWait (per record)',
    recordsPerCall: 1,
    note: `\`AsyncDataStream.unorderedWait(stream, x => call([x]), { capacity: ${PER_RECORD_CAPACITY} })\`: one call per record, ${PER_RECORD_CAPACITY} in flight`,
    run: async (p) => {
      const env = StreamExecutionEnvironment.create({ parallelism: 1 });
      const input = env.fromCollection(p.probe.source(p.records));
      const call = async (doc: Doc, ctx: { readonly signal: AbortSignal }): Promise<number> => (await p.call([doc], ctx))[0] as number;
      AsyncDataStream.unorderedWait(input, call, { capacity: PER_RECORD_CAPACITY }).addSink(p.probe.deliver);
      await env.execute('per-record S1');
      return { count: p.probe.delivered, sum: p.probe.sum };
    },
  };
}

/** The ceiling this service allows on this machine (see `runHandLoop`): what it misses of the bound, the service's own timers lost by firing late. */
const handLoop: FlowContender = {
  id: 'hand-loop',
  label: 'hand-written loop',
  note: HAND_LOOP_NOTE,
  run: (p) => runHandLoop(pipelineOf(p)),
};

const rxjs: FlowContender = {
  id: 'rxjs',
  label: 'RxJS 7.8',
  note: RXJS_NOTE,
  run: (p) => runRxjs(pipelineOf(p)),
};

const effect: FlowContender = {
  id: 'effect',
  label: 'Effect 4.1',
  note: EFFECT_NOTE,
  run: (p) => runEffect(pipelineOf(p)),
};

/** The contenders of S1 and its variants. */
export function serviceContenders(): {
  hand: FlowContender;
  tributary: FlowContender;
  tributaryOrdered: FlowContender;
  perRecord: FlowContender;
  rxjs: FlowContender;
  effect: FlowContender;
} {
  return {
    hand: handLoop,
    tributary: tributaryBatch(false),
    tributaryOrdered: tributaryBatch(true),
    perRecord: tributaryPerRecord(),
    rxjs,
    effect,
  };
}

/** S1 (issue 3): throughput against the simulated service as % of the bound, with what each contender holds. */
export function asyncServiceScenario(): FlowScenario {
  const c = serviceContenders();
  return {
    kind: 'flow',
    id: 'S1',
    title: 'simulated service, batch 64: % of the throughput bound',
    description:
      'A FakeBatchService on the system clock answers a call of n records after 10 ms + 0.05 ms * n and serves at most 4 calls at once. ' +
      'Batches of 64, or 5 ms; every contender keeps at most 4 calls in flight. The bound is 4 * 64 / 13.2 ms = 19,394 records/s. ' +
      'The per-record row makes one call per record (4 in flight) over fewer records: its rate is what matters. ' +
      'The hand-written row is the most this service allows here: what it misses of the bound, the service\'s timers lost.',
    service: S1_SERVICE,
    warmUp: true,
    targets: [{ kind: 'min-value', label: 'Tributary unorderedWaitBatch at least 98% of the bound', subject: 'tributary', min: 98 }],
    points: (records, quick): FlowPoint[] => {
      const n = records ?? (quick ? 1_000 : 20_000);
      const perRecord = Math.max(1, Math.min(n, quick ? 40 : 1_000));
      return [
        { contender: c.tributary, records: n, batchSize: S1_BATCH },
        { contender: c.tributaryOrdered, records: n, batchSize: S1_BATCH },
        { contender: c.perRecord, records: perRecord, batchSize: S1_BATCH },
        { contender: c.rxjs, records: n, batchSize: S1_BATCH },
        { contender: c.effect, records: n, batchSize: S1_BATCH },
        { contender: c.hand, records: n, batchSize: S1_BATCH },
      ];
    },
  };
}

/** Batch sizes of the sweep (issue 8's chart). */
export const SWEEP_BATCH_SIZES = [1, 4, 16, 64, 256] as const;

/** S1 swept over batch sizes: % of the bound at each size, for the chart of issue 8. */
export function batchSizeSweepScenario(): FlowScenario {
  const c = serviceContenders();
  return {
    kind: 'flow',
    id: 'S1-sweep',
    title: 'simulated service: % of the bound vs batch size',
    description:
      'S1\'s service and delay at batch sizes 1 to 256; each point runs 25 rounds of 4 full batches (at least 100 records). ' +
      'The bound at batch size b is 4 * b / (10 + 0.05 * b) ms; the per-record row makes one call per record whatever b is, so its % falls as b grows.',
    service: S1_SERVICE,
    targets: [],
    points: (records, quick) =>
      SWEEP_BATCH_SIZES.flatMap((b) => {
        const n = records ?? Math.max(100, b * S1_SERVICE.concurrency * (quick ? 2 : 25));
        const perRecord = Math.min(n, quick ? 20 : 100);
        return [
          { contender: c.tributary, records: n, batchSize: b },
          { contender: c.rxjs, records: n, batchSize: b },
          { contender: c.effect, records: n, batchSize: b },
          { contender: c.perRecord, records: perRecord, batchSize: b },
        ];
      }),
  };
}

/** The memory run's service: S1's latency divided by 10, so a million records take seconds, not minutes. */
export const MEMORY_SERVICE: ServiceModel = { baseMs: 1, perItemMs: 0.005, concurrency: 4, maxBatchDelayMs: 5 };

/** S1 over 1,000,000 records from a generator: peak heap and records in flight. */
export function memoryScenario(): FlowScenario {
  const c = serviceContenders();
  return {
    kind: 'flow',
    id: 'S1-memory',
    title: 'memory: 1,000,000 records from a generator into the service',
    description:
      'S1 with 1,000,000 ~100-byte documents pulled from a generator, and the service scaled to 1 ms + 0.005 ms per item ' +
      '(S1 / 10, so each run takes seconds; the bound becomes 193,939 records/s). Heap is sampled every 1,024 source records, ' +
      'on every call and every 10 ms (this peak includes garbage not yet collected); every 100,000 records the source also ' +
      'forces a full GC and samples the live heap. Both are shown above the heap in use when the run started (after a GC). ' +
      'Per-record calls are left out (at 2% of the bound a million records take minutes).',
    service: MEMORY_SERVICE,
    targets: [],
    liveHeapEvery: 100_000,
    points: (records, quick) => {
      const n = records ?? (quick ? 20_000 : 1_000_000);
      return [c.tributary, c.tributaryOrdered, c.rxjs, c.effect].map((contender) => ({ contender, records: n, batchSize: S1_BATCH }));
    },
  };
}
