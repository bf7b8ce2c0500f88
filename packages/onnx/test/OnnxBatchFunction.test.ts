import { Tensor } from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AsyncDataStream, RetryStrategies, type DeadLetter } from '@tributary/async';
import { OutputTag, silentLogger, StreamExecutionEnvironment } from '@tributary/core';
import {
  EMBEDDER_IO,
  OnnxInputError,
  onnxBatchFunction,
  onnxTextEmbedder,
  packSequences,
  splitRows,
} from '../src/index.js';
import { LINEAR_MODEL } from './support/linearModel.js';
import { endIdleWorkersAfterEach, watchSessionWorkers } from './support/sessionWorkers.js';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();
endIdleWorkersAfterEach();

/** The linear model's batch function as a factory, one instance per subtask. */
function linearFactory(overrides: Partial<Parameters<typeof onnxBatchFunction<number[], number[]>>[0]> = {}) {
  return onnxBatchFunction<number[], number[]>({
    model: LINEAR_MODEL,
    name: 'linear',
    feeds: (rows) => ({ x: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]) }),
    outputs: (results) => splitRows(results['y'] as Tensor).map((row) => Array.from(row as Float32Array)),
    ...overrides,
  });
}

/** One instance, for direct use. */
function linear(overrides: Partial<Parameters<typeof onnxBatchFunction<number[], number[]>>[0]> = {}) {
  return linearFactory(overrides).create();
}

/** Feeds that match the embedder model, for tests that break one thing at a time. */
function embedderFeeds(): Record<string, Tensor> {
  const { ids, mask } = packSequences([[1, 2, 3], [4]]);
  return { [EMBEDDER_IO.ids]: ids, [EMBEDDER_IO.mask]: mask };
}

function embedderWith(feeds: (valid: Record<string, Tensor>) => Record<string, Tensor>, maxWorkers?: number) {
  return onnxBatchFunction<string, Float32Array>({
    model: model().path,
    ...(maxWorkers === undefined ? {} : { maxWorkers }),
    feeds: () => feeds(embedderFeeds()),
    outputs: (results) => splitRows(results[EMBEDDER_IO.output] as Tensor) as Float32Array[],
  }).create();
}

/** One turn of the event loop. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('onnxBatchFunction', () => {
  it('runs a batch through the session once and splits outputs per record', async () => {
    const workers = watchSessionWorkers();
    const fn = linear();
    await fn.open();
    const outputs = await fn.invoke([
      [1, 2, 3, 4],
      [0, 0, 0, 1],
      [1, 1, 1, 1],
    ]);
    expect(outputs).toEqual([
      [12, 1],
      [2, -1],
      [4, 1],
    ]);
    expect(workers.flatMap((w) => w.requests)).toHaveLength(1);
    await fn.close();
  });

  it('passes session options through to the session in the worker', async () => {
    const fn = linear({ sessionOptions: { intraOpNumThreads: 1, executionProviders: ['no-such-provider'] } });
    await expect(fn.open()).rejects.toThrow(/onnx model "linear": cannot create the inference session: .*no-such-provider/);
    await fn.close();
  });

  it('returns [] for an empty batch without opening a session', async () => {
    const workers = watchSessionWorkers();
    expect(await linear().invoke([])).toEqual([]);
    await nextTurn(); // the `worker` event of a thread started comes a turn later
    expect(workers).toHaveLength(0);
  });

  it('rejects an empty batch whose signal is already aborted, with the signal\'s reason', async () => {
    const workers = watchSessionWorkers();
    const reason = new Error('cancelled');
    await expect(linear().invoke([], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await nextTurn(); // the `worker` event of a thread started comes a turn later
    expect(workers).toHaveLength(0);
  });

  it('fails when the outputs splitter does not return one output per input, naming both counts', async () => {
    const fn = linear({ outputs: () => [[0, 0]] });
    await expect(fn.invoke([[1, 2, 3, 4], [5, 6, 7, 8]])).rejects.toThrow(
      'onnx model "linear": the outputs splitter returned 1 outputs for a batch of 2 inputs',
    );
    await fn.close();
  });

  it('rejects with the abort reason and does not run when the signal is already aborted', async () => {
    const workers = watchSessionWorkers();
    const fn = linear();
    await fn.open();
    const controller = new AbortController();
    controller.abort(new Error('batch timed out'));
    await expect(fn.invoke([[1, 2, 3, 4]], { signal: controller.signal, attempt: 1 })).rejects.toThrow('batch timed out');
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests).toHaveLength(0);
    await fn.close();
  });

  it('rejects a call whose signal aborts while it waits for the session to open, without running it', async () => {
    const workers = watchSessionWorkers();
    const fn = linear();
    const failed: unknown[] = [];
    const future = { complete: () => undefined, completeExceptionally: (e: unknown) => failed.push(e) };
    const controller = new AbortController();
    const call = fn.asyncInvokeBatch([[1, 2, 3, 4]], future, { signal: controller.signal, attempt: 1 });
    controller.abort(new Error('attempt timed out'));
    await call;
    expect(failed).toEqual([new Error('attempt timed out')]);
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests).toHaveLength(0);
    await fn.close();
  });

  it('once the session is open, the operator\'s calls run without reading ctx.signal (no AbortController per call)', async () => {
    const fn = linear();
    await fn.open();
    let signalReads = 0;
    const ctx = {
      attempt: 1,
      get signal(): AbortSignal {
        signalReads++;
        return new AbortController().signal;
      },
    };
    const completed: unknown[] = [];
    await fn.asyncInvokeBatch([[1, 1, 1, 1]], { complete: (o) => completed.push(o), completeExceptionally: (e) => completed.push(e) }, ctx);
    expect(completed).toEqual([[[4, 1]]]);
    expect(signalReads).toBe(0);
    await fn.close();
  });

  it('has the async operator\'s object form: asyncInvokeBatch completes the result future', async () => {
    const fn = linear();
    const completed: unknown[] = [];
    const failed: unknown[] = [];
    const future = { complete: (o: readonly number[][]) => completed.push(o), completeExceptionally: (e: unknown) => failed.push(e) };
    const ctx = { signal: new AbortController().signal, attempt: 1 };
    await fn.asyncInvokeBatch([[1, 1, 1, 1]], future, ctx);
    await fn.asyncInvokeBatch([[1, 1]], future, ctx);
    expect(completed).toEqual([[[4, 1]]]);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toBeInstanceOf(OnnxInputError);
    await fn.close();
  });
});

describe('bad input', () => {
  it('is not retried: a batch whose tensors do not fit goes to the failure policy after one attempt', async () => {
    let attempts = 0;
    const fn = linearFactory({
      feeds: (rows) => {
        attempts++;
        return { x: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]) };
      },
    });
    const env = StreamExecutionEnvironment.create();
    const dead = new OutputTag<DeadLetter<number[]>>('dead');
    const out = AsyncDataStream.unorderedWaitBatch(env.fromElements([1, 1]), fn, {
      maxBatchSize: 1,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 0 }),
      onFailure: { deadLetter: dead },
    });
    out.addSink(() => undefined);
    const letters: DeadLetter<number[]>[] = [];
    out.getSideOutput(dead).addSink((l) => void letters.push(l));
    await env.execute('bad tensors');
    expect(attempts).toBe(1);
    expect(letters.map((l) => l.error)).toEqual([expect.any(OnnxInputError)]);
  });

  it('names the input and its expected type when the element type is wrong', async () => {
    const fn = embedderWith((feeds) => ({
      ...feeds,
      ids: new Tensor('float32', Float32Array.of(1, 2, 3, 4, 0, 0), [2, 3]),
    }));
    const error = await fn.invoke(['a']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxInputError);
    expect((error as Error).message).toContain(
      "input 'ids' expects int64 [batch, sequence], got float32 [2, 3] (element type float32)",
    );
    expect(error).toMatchObject({ inputName: 'ids', expected: 'int64 [batch, sequence]', actual: 'float32 [2, 3]' });
    await fn.close();
  });

  it('names the input and its expected shape when the rank is wrong', async () => {
    const fn = embedderWith((feeds) => ({ ...feeds, ids: new Tensor('int64', BigInt64Array.of(1n, 2n, 3n), [3]) }));
    await expect(fn.invoke(['a'])).rejects.toThrow(
      "input 'ids' expects int64 [batch, sequence], got int64 [3] (rank 1, expected rank 2)",
    );
    await fn.close();
  });

  it('names both inputs when a shared dimension disagrees (mask shorter than ids)', async () => {
    const fn = embedderWith((feeds) => ({ ...feeds, mask: new Tensor('float32', new Float32Array(4), [2, 2]) }));
    await expect(fn.invoke(['a'])).rejects.toThrow(
      "input 'mask' expects float32 [batch, sequence], got float32 [2, 2] (sequence = 2, but input 'ids' has sequence = 3)",
    );
    await fn.close();
  });

  it('names a fixed dimension that does not match', async () => {
    const fn = linear();
    await expect(fn.invoke([[1, 2, 3]])).rejects.toThrow(
      'onnx model "linear": input \'x\' expects float32 [batch, 4], got float32 [1, 3] (dimension 1 must be 4)',
    );
    await fn.close();
  });

  it.each([['a session worker', undefined], ["the caller's thread (maxWorkers: 0)", 0]])(
    'names the model when onnxruntime fails a run on %s',
    async (_where, maxWorkers) => {
      // Ids past the vocabulary pass the feeds check (type and shape) and fail in the model's Gather.
      const fn = embedderWith((feeds) => ({ ...feeds, ids: new Tensor('int64', new BigInt64Array(feeds.ids!.size).fill(10n ** 12n), feeds.ids!.dims) }), maxWorkers);
      await expect(fn.invoke(['a'])).rejects.toThrow(/^onnx model ".*embedder\.onnx": .*Gather.*out of data bounds/);
      await fn.close();
    },
  );

  it('names a missing input and an unknown one', async () => {
    const missing = embedderWith(({ ids }) => ({ ids: ids! }));
    await expect(missing.invoke(['a'])).rejects.toThrow(
      "input 'mask' expects float32 [batch, sequence], but the feeds do not contain it",
    );
    const unknown = embedderWith((feeds) => ({ ...feeds, attention_mask: feeds[EMBEDDER_IO.mask]! }));
    await expect(unknown.invoke(['a'])).rejects.toThrow(
      "the feeds contain 'attention_mask', which is not an input of the model; its inputs are 'ids' (int64 [batch, sequence]), 'mask' (float32 [batch, sequence])",
    );
    await Promise.all([missing.close(), unknown.close()]);
  });

  it('checks before running, so onnxruntime never sees the bad tensors', async () => {
    const workers = watchSessionWorkers();
    const fn = linear();
    await fn.open();
    await expect(fn.invoke([[1]])).rejects.toBeInstanceOf(OnnxInputError);
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests).toHaveLength(0);
    await fn.close();
  });
});

describe('lifecycle', () => {
  it('grows to one worker per call in flight, up to maxWorkers, and close leaves them idle for the next instance', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model(), maxWorkers: 2 }).create();
    await Promise.all([embedder.open(), embedder.invoke(['one']), embedder.invoke(['two']), embedder.open()]);
    // Both calls waited for the first session; the second found it busy and started a second worker
    // (which of the two then runs it is whichever is free first).
    expect(workers).toHaveLength(2);
    await Promise.all([embedder.invoke(['three']), embedder.invoke(['four']), embedder.invoke(['five'])]);
    expect(workers.map((w) => w.requests.length).reduce((a, b) => a + b)).toBe(5);
    expect(workers).toHaveLength(2);
    // A worker still starting at close is stopped (it ran nothing yet): wait until both are idle.
    await Promise.all(workers.map((w) => w.ready));
    await embedder.close();
    expect(workers.map((w) => w.exitCode)).toEqual([undefined, undefined]);
    const next = onnxTextEmbedder({ model: model(), maxWorkers: 2 }).create();
    await Promise.all([next.invoke(['six']), next.invoke(['seven'])]);
    await next.close();
    expect(workers.map((w) => w.requests.length).reduce((a, b) => a + b)).toBe(7);
    expect(workers).toHaveLength(2);
  });

  it('with maxWorkers 1, calls in flight at once queue for the one worker, which has its next request before it answers one', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model(), maxWorkers: 1 }).create();
    const vectors = await Promise.all([embedder.invoke(['one']), embedder.invoke(['two']), embedder.invoke(['three'])]);
    expect(vectors.flat()).toHaveLength(3);
    expect(workers.map((w) => w.requests.length)).toEqual([3]);
    // The second request goes out while the first runs, the third once the first is answered: never more than two out.
    expect(workers.events).toEqual(['ready 0', 'request 0', 'request 0', 'result 0', 'request 0', 'result 0', 'result 0']);
    await embedder.close();
  });

  it('by default shares the cores among the subtasks: opened at a parallelism of the cores, a subtask runs one worker', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model() }).create();
    // What the async operator passes: its subtask's context.
    await embedder.open({ parallelism: availableParallelism() });
    await Promise.all([embedder.invoke(['one']), embedder.invoke(['two']), embedder.invoke(['three'])]);
    expect(workers.map((w) => w.requests.length)).toEqual([3]);
    await embedder.close();
  });

  it.runIf(availableParallelism() >= 2)('by default grows to the cores when used directly (parallelism 1)', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model() }).create();
    await Promise.all([embedder.open(), embedder.invoke(['one']), embedder.invoke(['two'])]);
    expect(workers).toHaveLength(2);
    await Promise.all(workers.map((w) => w.ready));
    await embedder.close();
  });

  it('lets a running call finish before releasing the session', async () => {
    const embedder = onnxTextEmbedder({ model: model() }).create();
    await embedder.open();
    const call = embedder.invoke(['still running']);
    const closed = embedder.close();
    const [vector] = await call;
    await closed;
    expect(vector).toHaveLength(model().outputDim);
  });

  it('opens again when called after close (a restarted job), on the worker it left idle', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model() }).create();
    await embedder.open();
    await embedder.close();
    await embedder.close(); // a second close is harmless
    const [vector] = await embedder.invoke(['again']);
    expect(vector).toHaveLength(model().outputDim);
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests).toHaveLength(1);
    await embedder.close();
    expect(workers[0]!.exitCode).toBeUndefined();
  });

  it('the factory gives each subtask (parallelism 3) its own instance, which starts its worker once and leaves it idle', async () => {
    const workers = watchSessionWorkers();
    const env = StreamExecutionEnvironment.create({ parallelism: 3, runtime: 'single-thread', logger: silentLogger });
    const texts = Array.from({ length: 30 }, (_, i) => `text number ${i}`);
    const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts).rebalance(), onnxTextEmbedder({ model: model() }), { maxBatchSize: 4 })
      .executeAndCollect('per subtask');
    expect(out).toHaveLength(texts.length);
    // One call in flight per subtask: one worker each, left idle when the job ended, up to one per core (the rest stopped).
    expect(workers).toHaveLength(3);
    expect(workers.filter((w) => w.exitCode === undefined)).toHaveLength(Math.min(3, availableParallelism()));
    expect(workers.every((w) => w.exitCode === undefined || w.exitCode === 0)).toBe(true);
    // Every worker ran batches: each subtask used its own.
    expect(workers.every((w) => w.requests.length > 0)).toBe(true);
  });

  it('names the model when the session cannot be created, and retries on the next call', async () => {
    const fn = onnxTextEmbedder({ model: '/nonexistent/embedder.onnx' }).create();
    await expect(fn.open()).rejects.toThrow(
      'onnx model "/nonexistent/embedder.onnx": cannot create the inference session',
    );
    const workers = watchSessionWorkers();
    await expect(fn.invoke(['x'])).rejects.toThrow(/cannot create the inference session/);
    expect(workers).toHaveLength(1);
    expect(workers[0]!.replies.map((r) => r.kind)).toEqual(['failed']);
    await fn.close();
  });
});
