import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AsyncDataStream } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { onnxTextEmbedder, type OnnxBatchFunction } from '@tributary/onnx';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Contender, RunStats } from '../harness/model.js';
import { S5_BATCH, S5_SESSION_OPTIONS, Workload, type Doc, type Embedded } from './onnxEmbedding.js';

/** Issue 21: the event loop of the thread that runs the pipeline stays this responsive while the model infers. */
export const S5B_MAX_LOOP_DELAY_P99_MS = 10;

/**
 * The S5 pipeline with `inFlight` calls in flight: `onnxTextEmbedder` runs
 * each on a worker thread of its own, so two calls use two cores. The run's
 * stat is the p99 of this thread's event-loop delay while the job runs.
 *
 * One embedder serves every run of the row, its workers started by the
 * warm-up runs, as a long-running job has them: a run of a third of a second
 * would otherwise spend a large part of it starting the second worker (a
 * thread, onnxruntime and a session), with one worker serving meanwhile.
 * The job's close must not stop them, so it gets a wrapper without `close`.
 */
function inFlight(w: Workload, calls: 1 | 2): Contender<number, RunStats> {
  let embedder: OnnxBatchFunction<Doc, Embedded> | undefined;
  return {
    id: `in-flight-${calls}`,
    label: `Tributary, batch ${S5_BATCH}, ${calls} call${calls === 1 ? '' : 's'} in flight`,
    note:
      `\`AsyncDataStream.unorderedWaitBatch(env.fromCollection(docs), onnxTextEmbedder({ model, sessionOptions: { intraOpNumThreads: 1 }, text, output }), ` +
      `{ maxBatchSize: ${S5_BATCH}, maxInFlightBatches: ${calls} })\`, parallelism 1: tokenizing, packing and the sessions run on ${calls === 1 ? 'a worker thread' : 'two worker threads'}, ` +
      'the pipeline (each doc to its text, the outputs split back) on the main thread; one embedder for every run of the row, its workers started by the warm-up runs; ' +
      '`monitorEventLoopDelay({ resolution: 1 })` over the job',
    recordsPerCall: S5_BATCH,
    prepare: async (n) => {
      await w.prepare(n);
      embedder ??= onnxTextEmbedder({
        model: w.model,
        sessionOptions: S5_SESSION_OPTIONS,
        text: (doc: Doc) => doc.text,
        output: (vector, doc): Embedded => ({ id: doc.id, vector }),
      }).create();
    },
    run: async (n) => {
      const started = embedder;
      if (started === undefined) throw new Error('S5b: the embedder is created in prepare()');
      const sink = w.sink();
      const env = StreamExecutionEnvironment.create({ parallelism: 1 });
      const shared = { asyncInvokeBatch: started.asyncInvokeBatch.bind(started) };
      AsyncDataStream.unorderedWaitBatch(env.fromCollection(w.take(n)), shared, { maxBatchSize: S5_BATCH, maxInFlightBatches: calls }).addSink(sink.deliver);
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      try {
        await env.execute(`S5b embed, ${calls} in flight`);
      } finally {
        delay.disable();
      }
      return { ...sink.result(), stats: { loopDelayP99Us: delay.percentile(99) / 1_000 } };
    },
    teardown: async () => {
      await embedder?.close();
      embedder = undefined;
    },
  };
}

/** S5b (issue 21): the S5 embedder with two calls in flight vs one, on worker threads, and the event loop meanwhile. */
export function onnxInFlightScenario(): CpuScenario {
  const w = new Workload();
  return {
    kind: 'cpu',
    id: 'S5b',
    title: `ONNX text embedder, batch ${S5_BATCH}: 2 calls in flight vs 1 (sessions on worker threads)`,
    description:
      `S5's texts and model, through \`onnxTextEmbedder\` with \`maxInFlightBatches\` 1 and 2. Each call runs on a worker thread of the embedder's pool ` +
      '(one session per worker, `intraOpNumThreads: 1`), which also tokenizes and packs the batch\'s texts, so with two in flight two batches are tokenized and inferred at once ' +
      'while the main thread only hands texts out and splits the embeddings back. ' +
      'Each row keeps one embedder for all its runs, its workers and sessions started by the warm-up runs (as in a long-running job: starting a worker costs a run of this size a large part of its time, see below), and stops them after its last run; its sink checks each embedding against the reference, as in S5. ' +
      'Next to the timings: the p99 of the main thread\'s event-loop delay (`monitorEventLoopDelay`) over each measured run.',
    records: { full: 16_384, quick: 256 },
    baseline: 'in-flight-1',
    subject: 'in-flight-2',
    unit: 'embeddings',
    contenders: [inFlight(w, 1), inFlight(w, 2)],
    targetFigure: 'wall',
    targets: [
      { kind: 'min-speedup', label: '2 calls in flight at least 1.7x the embeddings/s of 1 (wall per embedding)', subject: 'in-flight-2', baseline: 'in-flight-1', min: 1.7 },
      {
        kind: 'max-stat',
        label: `event-loop delay p99 under ${S5B_MAX_LOOP_DELAY_P99_MS} ms while inferring, 2 in flight (µs, median of the runs)`,
        subject: 'in-flight-2',
        stat: 'loopDelayP99Us',
        max: S5B_MAX_LOOP_DELAY_P99_MS * 1_000,
      },
    ],
  };
}
