import { AsyncDataStream, type AsyncBatchFunction } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { onnxTextEmbedder, type OnnxBatchFunction } from '../src/index.js';
import { endIdleSessionWorkers } from '../src/session/idleSessionWorkers.js';
import { SENTENCES, dot } from './fixtures/sentences.js';
import { requestTexts, watchSessionWorkers } from './support/sessionWorkers.js';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();

interface Doc {
  readonly id: number;
  readonly text: string;
}

describe('the text embedder in a job (AsyncDataStream.unorderedWaitBatch)', () => {
  it('has the async batch function shape', () => {
    expectTypeOf<OnnxBatchFunction<Doc, number>>().toExtend<AsyncBatchFunction<Doc, number>>();
  });

  it('embeds every record once in batches, on worker threads each subtask starts and leaves idle or stops', async () => {
    const workers = watchSessionWorkers();
    // Each sentence, and a near-duplicate of it (one word changed) planted later in the stream.
    const docs: Doc[] = [
      ...SENTENCES.map((text, id) => ({ id, text })),
      ...SENTENCES.map((text, i) => ({ id: 100 + i, text: text.replace(/\w+$/, 'yesterday') })),
    ];
    const env = StreamExecutionEnvironment.create({ parallelism: 2, runtime: 'single-thread' });
    const embedder = onnxTextEmbedder({
      model: model(),
      sessionOptions: { intraOpNumThreads: 1 },
      text: (doc: Doc) => doc.text,
      output: (vector, doc) => ({ id: doc.id, vector }),
    });
    const embedded = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(docs).rebalance(), embedder, {
      maxBatchSize: 8,
      maxInFlightBatches: 2,
    })
      .name('embed')
      .executeAndCollect('embed-documents');

    expect(embedded.map((e) => e.id).sort((a, b) => a - b)).toEqual(docs.map((d) => d.id));
    // Every planted near-duplicate is the closest document to its original.
    const byId = new Map(embedded.map((e) => [e.id, e.vector]));
    for (let i = 0; i < SENTENCES.length; i++) {
      const original = byId.get(i)!;
      const scores = embedded.filter((e) => e.id !== i).map((e) => ({ id: e.id, score: dot(original, e.vector) }));
      const best = scores.reduce((a, b) => (b.score > a.score ? b : a));
      expect(best.id).toBe(100 + i);
      expect(best.score).toBeGreaterThan(0.8);
    }
    // Each subtask's workers (at most maxInFlightBatches each) ran batches of at most 8, and were left idle for the
    // next job or stopped when this one ended: nothing but the idle list holds one.
    expect(workers.length).toBeGreaterThanOrEqual(2);
    expect(workers.length).toBeLessThanOrEqual(4);
    const batchSizes = workers.flatMap((w) => w.requests.map((request) => requestTexts(request).length));
    expect(batchSizes.reduce((sum, n) => sum + n, 0)).toBe(docs.length);
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(8);
    expect(batchSizes.length).toBeLessThan(docs.length / 2);
    await endIdleSessionWorkers();
    expect(workers.every((w) => w.exitCode !== undefined)).toBe(true);
  });
});
