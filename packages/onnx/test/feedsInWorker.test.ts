import { AsyncDataStream, NonRetryableError, RetryStrategies } from '@tributary/async';
import { perSubtask, silentLogger, StreamExecutionEnvironment } from '@tributary/core';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { threadId } from 'node:worker_threads';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OnnxBatchFunction, type OnnxBatchFunctionSpec } from '../src/batch/OnnxBatchFunction.js';
import { createNgramTokenizer, EMBEDDER_IO, OnnxInputError, onnxTextEmbedder, packSequences, splitRows } from '../src/index.js';
import { SessionFeeds } from '../src/session/feedsModule.js';
import type { ThreadFeedsOptions } from './fixtures/threadFeeds.js';
import { SENTENCES } from './fixtures/sentences.js';
import { LINEAR_MODEL } from './support/linearModel.js';
import { endIdleWorkersAfterEach, requestTexts, watchSessionWorkers } from './support/sessionWorkers.js';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();
endIdleWorkersAfterEach();
const sessionOptions = { intraOpNumThreads: 1 };
const TEXTS = [...SENTENCES, '', 'tiny', 'Ünïcödé wörds, ﬁne ligatures and ２ wide digits', SENTENCES.join(' ')];

/** The embeddings of `texts` built by hand on this thread: a tokenizer with `settings`, packSequences, one run. */
async function reference(texts: readonly string[], settings: { ngram?: number; maxLength?: number }): Promise<Float32Array[]> {
  const session = await InferenceSession.create(model().path, sessionOptions);
  try {
    const { ids, mask } = packSequences(texts.map(createNgramTokenizer(settings)));
    const results = await session.run({ [EMBEDDER_IO.ids]: ids, [EMBEDDER_IO.mask]: mask });
    return splitRows(results[EMBEDDER_IO.output] as Tensor) as Float32Array[];
  } finally {
    await session.release();
  }
}

/** The options of a batch function over the linear model whose feeds the fixture builds where the session runs; each output is the y[0] of its row. */
function linearOptions(maxWorkers: number, options: ThreadFeedsOptions, name = 'threadFeeds'): OnnxBatchFunctionSpec<string, number> {
  return {
    model: LINEAR_MODEL,
    name: 'linear',
    maxWorkers,
    sessionOptions,
    feeds: new SessionFeeds({ module: new URL('./fixtures/threadFeeds.ts', import.meta.url).href, name, options }, (rows) => [...rows]),
    outputs: (results) => Array.from((results['y'] as Tensor).data as Float32Array).filter((_, i) => i % 2 === 0),
  };
}

function linear(maxWorkers: number, options: ThreadFeedsOptions, name?: string): OnnxBatchFunction<string, number> {
  return new OnnxBatchFunction(linearOptions(maxWorkers, options, name));
}

describe('the text embedder tokenizes in its session workers', () => {
  it('sends the texts, not tensors, to the worker: the caller only maps records to texts', async () => {
    const workers = watchSessionWorkers();
    const docs = TEXTS.map((body, id) => ({ id, body }));
    const embedder = onnxTextEmbedder({
      model: model(),
      sessionOptions,
      text: (doc: { id: number; body: string }) => doc.body,
      output: (vector, doc) => ({ id: doc.id, vector }),
    }).create();
    const outputs = await embedder.invoke(docs);
    await embedder.close();
    expect(workers).toHaveLength(1);
    // Tokenized on the caller, the request would bring ids and mask tensors (requestTexts throws then).
    expect(workers[0]!.requests.map(requestTexts)).toEqual([TEXTS]);
    expect(outputs.map((o) => o.vector)).toEqual(await reference(TEXTS, {}));
  });

  it('gives the embeddings of maxWorkers: 0 and of a hand-built tokenizer, bit for bit, with non-default ngram and maxLength', async () => {
    const settings = { ngram: 4, maxLength: 12 };
    const expected = await reference(TEXTS, settings);
    // These texts embed differently with the default tokenizer: a worker that ignored the settings would fail below.
    expect(await reference(TEXTS, {})).not.toEqual(expected);

    const pooled = onnxTextEmbedder({ model: model(), sessionOptions, ...settings }).create();
    const inThread = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 0, ...settings }).create();
    try {
      expect(await pooled.invoke(TEXTS)).toEqual(expected);
      expect(await inThread.invoke(TEXTS)).toEqual(expected);
    } finally {
      await Promise.all([pooled.close(), inThread.close()]);
    }
  });

  it('rejects a text that is not a string before sending anything, naming the model; the next call works', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model(), sessionOptions }).create();
    const inThread = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 0 }).create();
    const records = onnxTextEmbedder({ model: model(), sessionOptions, text: (doc: { body?: string }) => doc.body as string, output: (v) => v }).create();
    const message = `onnx model "${model().path}": the n-gram tokenizer takes a string, got 42`;
    try {
      await embedder.open();
      await expect(embedder.invoke(['fine', 42 as unknown as string])).rejects.toThrow(new TypeError(message));
      await expect(inThread.invoke(['fine', 42 as unknown as string])).rejects.toThrow(new TypeError(message));
      await expect(records.invoke([{ body: 'fine' }, {}])).rejects.toThrow(`onnx model "${model().path}": the n-gram tokenizer takes a string, got undefined`);
      expect(workers.flatMap((w) => w.requests)).toEqual([]);
      expect(await embedder.invoke(['fine'])).toEqual(await inThread.invoke(['fine']));
    } finally {
      await Promise.all([embedder.close(), inThread.close(), records.close()]);
    }
  });
});

describe('a feeds builder named by data', () => {
  it('runs on the session worker\'s thread with the options it was given, and on the caller\'s with maxWorkers: 0', async () => {
    const workers = watchSessionWorkers();
    const pooled = linear(1, { scale: 10 });
    const inThread = linear(0, { scale: 10 });
    try {
      const fromWorker = await pooled.invoke(['a', 'b', 'c']);
      expect(workers).toHaveLength(1);
      const worker = workers[0]!.thread.threadId;
      expect(worker).not.toBe(threadId);
      expect(fromWorker).toEqual([worker * 10, worker * 10, worker * 10]);
      expect(await inThread.invoke(['a'])).toEqual([threadId * 10]);
    } finally {
      await Promise.all([pooled.close(), inThread.close()]);
    }
  });

  it('a builder that throws in the worker rejects that call naming the model; the worker stays and the next call works', async () => {
    const workers = watchSessionWorkers();
    const fn = linear(1, { scale: 1 });
    try {
      await expect(fn.invoke(['a', 'throw'])).rejects.toThrow('onnx model "linear": the feeds builder failed: the builder was told to throw');
      expect(await fn.invoke(['a'])).toEqual([workers[0]!.thread.threadId]);
      expect(workers).toHaveLength(1);
      expect(workers[0]!.exitCode).toBeUndefined();
    } finally {
      await fn.close();
    }
    expect(workers[0]!.exitCode).toBe(0);
  });

  it('a worker that ends fails only the call it was running: the call posted behind that run goes to a new worker', async () => {
    const workers = watchSessionWorkers();
    const fn = linear(1, { scale: 1 });
    try {
      await fn.open();
      const dying = fn.invoke(['exit']).catch((e: unknown) => e);
      const behind = fn.invoke(['a', 'b']);
      expect(((await dying) as Error).message).toBe('onnx model "linear": the inference worker thread exited with code 7');
      expect(workers[0]!.requests).toHaveLength(2);
      expect(await behind).toEqual([workers[1]!.thread.threadId, workers[1]!.thread.threadId]);
      expect(workers.map((w) => w.exitCode)).toEqual([7, undefined]);
    } finally {
      await fn.close();
    }
  });

  it('a worker that cannot start leaves the calls to the one that serves, and the pool stops trying to grow', async () => {
    const path = join(dirname(model().path), 'linear-then-broken.onnx');
    await writeFile(path, LINEAR_MODEL);
    const hold = new Int32Array(new SharedArrayBuffer(4));
    const release = () => {
      Atomics.store(hold, 0, 1);
      Atomics.notify(hold, 0);
    };
    const workers = watchSessionWorkers();
    const fn = new OnnxBatchFunction({ ...linearOptions(2, { scale: 1, holdOn: hold }), model: path });
    try {
      await fn.open();
      // The file breaks after the first session exists: every new worker fails to create its own.
      await writeFile(path, 'not a model');
      const held = fn.invoke(['hold']);
      const waiting = fn.invoke(['a']);
      // A worker's start (a thread, onnxruntime, the session) takes seconds on a cold, loaded machine.
      await vi.waitFor(() => expect(workers[1]?.exitCode).toBeDefined(), { timeout: 30_000, interval: 20 });
      expect(workers[1]!.replies.map((r) => r.kind)).toEqual(['failed']);
      release();
      const serving = workers[0]!.thread.threadId;
      expect(await Promise.all([held, waiting])).toEqual([[serving], [serving]]);
      expect(await Promise.all([fn.invoke(['b']), fn.invoke(['c']), fn.invoke(['d'])])).toEqual([[serving], [serving], [serving]]);
      expect(workers).toHaveLength(2);
    } finally {
      // Never left holding: close() waits for the held call.
      release();
      await fn.close();
    }
  });

  it('feeds that do not fit the model fail with an OnnxInputError, not retried, from the worker as on the caller', async () => {
    for (const maxWorkers of [1, 0]) {
      const fn = linear(maxWorkers, { scale: 1, width: 3 });
      const error = await fn.invoke(['a']).catch((e: unknown) => e);
      await fn.close();
      expect(error).toBeInstanceOf(OnnxInputError);
      expect(error).toBeInstanceOf(NonRetryableError);
      expect(error).toMatchObject({
        message: `onnx model "linear": input 'x' expects float32 [batch, 4], got float32 [1, 3] (dimension 1 must be 4)`,
        inputName: 'x',
        expected: 'float32 [batch, 4]',
        actual: 'float32 [1, 3]',
      });
    }
  });

  it('goes to the operator\'s retry policy: with every third batch\'s builder failing in its worker, the job still emits every record once', async () => {
    const workers = watchSessionWorkers();
    const ids = Array.from({ length: 400 }, (_, i) => `r${i}`);
    const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
    const fn = perSubtask(() => new OnnxBatchFunction({ ...linearOptions(2, { scale: 1, failEvery: 3 }), outputs: (_, rows) => rows }));
    const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(ids), fn, {
      maxBatchSize: 8,
      maxInFlightBatches: 2,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 0 }),
    }).executeAndCollect('builder fails in the worker');
    const requests = workers.flatMap((w) => w.requests).length;
    const failed = workers.flatMap((w) => w.replies).filter((r) => r.kind === 'error').length;
    // Figures for docs/fault-tolerance.md: 50 batches, 74 requests, 24 builder failures, 400 out, 0 lost, 0 duplicated.
    expect(failed).toBeGreaterThanOrEqual(20);
    expect(requests).toBe(50 + failed);
    expect(out.sort()).toEqual([...ids].sort());
    // The failures left the workers in place (at most one per call in flight); a worker with a failed run is
    // stopped when the job ends, never left idle for the next one.
    expect(workers.length).toBeLessThanOrEqual(2);
    const failedIn = workers.filter((w) => w.replies.some((r) => r.kind === 'error'));
    expect(failedIn.length).toBeGreaterThanOrEqual(1);
    expect(failedIn.every((w) => w.exitCode === 0)).toBe(true);
  });

  it('a text that is not a string fails the job, naming the operator and the model', async () => {
    const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
    const embedder = onnxTextEmbedder({ model: model(), sessionOptions, text: (t: unknown) => t as string, output: (v) => v });
    AsyncDataStream.unorderedWaitBatch(env.fromCollection<unknown>(['one', 42, 'three']), embedder, { maxBatchSize: 2 })
      .name('embed')
      .addSink(() => undefined);
    const error = await env.execute('a number among the texts').catch((e: unknown) => e);
    expect(String(error)).toContain("'embed'");
    expect(String(error)).toContain(`onnx model "${model().path}": the n-gram tokenizer takes a string, got 42`);
  });

  it('a builder that cannot be loaded fails the open, naming the model and the module', async () => {
    for (const maxWorkers of [1, 0]) {
      const fn = linear(maxWorkers, { scale: 1 }, 'noSuchExport');
      await expect(fn.invoke(['a'])).rejects.toThrow(
        /^onnx model "linear": cannot load the feeds builder 'noSuchExport' of file:.*\/threadFeeds\.ts: the module exports no function 'noSuchExport'$/,
      );
      await fn.close();
    }
  });
});
