import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Checksum, Contender } from '../harness/model.js';
import { naturals } from './mapFilterMap.js';
import { batchCapacity, EFFECT_NOTE, RXJS_NOTE, runEffect, runRxjs, runTributary, type BatchPipeline } from './batchPipelines.js';
import { ChecksumSink } from '../harness/ChecksumSink.js';

export const S2_BATCH = 256;
const CONCURRENCY = 4;
const MAX_DELAY_MS = 5;

/** The instant service: answers every call with an already-resolved promise of one output per input. */
export function instantService(inputs: readonly number[]): Promise<number[]> {
  return Promise.resolve(inputs.map((x) => x + 1));
}

/** The S2 pipeline over `n` records, with a sink of its own. */
function pipeline(n: number): BatchPipeline<number, number> {
  const totals = new ChecksumSink();
  return {
    source: () => naturals(n),
    call: instantService,
    deliver: totals.write,
    deliverAll: totals.writeAll,
    result: () => totals.result(),
    batchSize: S2_BATCH,
    maxBatchDelayMs: MAX_DELAY_MS,
    concurrency: CONCURRENCY,
  };
}

const handLoop: Contender<number, Checksum> = {
  id: 'hand-loop',
  label: 'hand-written loop',
  note: 'fills an array of 256 from the generator, `await call(batch)`, sums the outputs; one call at a time',
  recordsPerCall: S2_BATCH,
  run: async (n) => {
    const totals = new ChecksumSink();
    let batch: number[] = [];
    for (const x of naturals(n)) {
      batch.push(x);
      if (batch.length === S2_BATCH) {
        totals.writeAll(await instantService(batch));
        batch = [];
      }
    }
    if (batch.length > 0) totals.writeAll(await instantService(batch));
    return totals.result();
  },
};

function handLoopArray(): Contender<number, Checksum> {
  let values: number[] = [];
  return {
    id: 'hand-loop-array',
    label: 'hand-written loop, array source',
    note: '`call(array.slice(i, i + 256))` over an array built before the measurement',
    extra: true,
    recordsPerCall: S2_BATCH,
    prepare: (n) => {
      values = Array.from(naturals(n));
    },
    run: async (n) => {
      const totals = new ChecksumSink();
      const input = values.length === n ? values : values.slice(0, n);
      for (let i = 0; i < input.length; i += S2_BATCH) totals.writeAll(await instantService(input.slice(i, i + S2_BATCH)));
      return totals.result();
    },
  };
}

function tributary(ordered: boolean): Contender<number, Checksum> {
  const method = ordered ? 'orderedWaitBatch' : 'unorderedWaitBatch';
  return {
    id: ordered ? 'tributary-ordered' : 'tributary',
    label: `Tributary ${method}`,
    note: `\`AsyncDataStream.${method}(env.fromCollection(naturals(n)), call, { maxBatchSize: 256, maxBatchDelay: 5, maxInFlightBatches: ${CONCURRENCY}, capacity: ${batchCapacity(S2_BATCH, CONCURRENCY)} })\``,
    extra: ordered,
    recordsPerCall: S2_BATCH,
    run: (n) => runTributary(pipeline(n), ordered, `S2 ${method}`),
  };
}

/** S2 (issue 3): what batching itself costs per record when the service costs nothing. */
export function batchOverheadScenario(): CpuScenario {
  return {
    kind: 'cpu',
    id: 'S2',
    title: 'batching overhead: instant service, batch 256',
    description:
      'Records 0..n-1 from a generator are batched by 256 (or 5 ms), sent to a service that answers with an already-resolved ' +
      'promise of x + 1 per input, at most 4 calls in flight, and the outputs counted and summed.',
    records: { full: 1_000_000, quick: 50_000 },
    baseline: 'hand-loop',
    subject: 'tributary',
    contenders: [
      handLoop,
      tributary(false),
      {
        id: 'rxjs',
        label: 'RxJS 7.8',
        note: RXJS_NOTE,
        recordsPerCall: S2_BATCH,
        run: (n) => runRxjs(pipeline(n)),
      },
      {
        id: 'effect',
        label: 'Effect 4.1',
        note: EFFECT_NOTE,
        recordsPerCall: S2_BATCH,
        run: (n) => runEffect(pipeline(n)),
      },
      handLoopArray(),
      tributary(true),
    ],
    targets: [{ kind: 'max-value', label: 'Tributary at most 120 ns CPU per record', subject: 'tributary', max: 120 }],
  };
}
