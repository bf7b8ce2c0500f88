import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { perSubtask, silentLogger, StreamExecutionEnvironment } from '@tributary/core';
import type { Tensor } from 'onnxruntime-node';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxBatchFunction, type OnnxBatchFunctionSpec } from '../src/batch/OnnxBatchFunction.js';
import { generateEmbedderModel, onnxTextEmbedder } from '../src/index.js';
import { SessionFeeds } from '../src/session/feedsModule.js';
import { endIdleSessionWorkers } from '../src/session/idleSessionWorkers.js';
import type { ThreadFeedsOptions } from './fixtures/threadFeeds.js';
import { LINEAR_MODEL } from './support/linearModel.js';
import { endIdleWorkersAfterEach, requestTexts, watchSessionWorkers, type WatchedWorker } from './support/sessionWorkers.js';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();
endIdleWorkersAfterEach();
const sessionOptions = { intraOpNumThreads: 1 };

/** The linear model in two files of equal bytes: two paths are two models to the idle list. */
const linearPaths: string[] = [];
beforeAll(async () => {
  for (const name of ['linear-a.onnx', 'linear-b.onnx']) {
    const path = join(dirname(model().path), name);
    await writeFile(path, LINEAR_MODEL);
    linearPaths.push(path);
  }
});

interface LinearSpec {
  readonly model?: string | Uint8Array;
  readonly sessionOptions?: { intraOpNumThreads: number };
  readonly feeds?: ThreadFeedsOptions;
}

/** The options of a batch function over the linear model whose outputs are the id of the thread that built the feeds (see threadFeeds). */
function linearOptions({ model = linearPaths[0]!, sessionOptions: options = sessionOptions, feeds = { scale: 1 } }: LinearSpec = {}): OnnxBatchFunctionSpec<string, number> {
  return {
    model,
    name: 'linear',
    maxWorkers: 1,
    sessionOptions: options,
    feeds: new SessionFeeds({ module: new URL('./fixtures/threadFeeds.ts', import.meta.url).href, name: 'threadFeeds', options: feeds }, (rows) => [...rows]),
    outputs: (results) => Array.from((results['y'] as Tensor).data as Float32Array).filter((_, i) => i % 2 === 0),
  };
}

function linear(spec?: LinearSpec): OnnxBatchFunction<string, number> {
  return new OnnxBatchFunction(linearOptions(spec));
}

/** The thread a new instance of `spec` runs its session on, after one call and its close. */
async function threadOf(spec?: LinearSpec): Promise<number> {
  const fn = linear(spec);
  try {
    const [id] = await fn.invoke(['a']);
    return id!;
  } finally {
    await fn.close();
  }
}

/** A full garbage collection, without --expose-gc on the command line. */
const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

const exitOf = (worker: WatchedWorker) => new Promise<void>((resolve) => (worker.exitCode === undefined ? worker.thread.once('exit', () => resolve()) : resolve()));

describe('session workers outlive their function instance', () => {
  it('a second text embedder in the process runs on the first one\'s worker thread, which waited idle', async () => {
    const workers = watchSessionWorkers();
    const first = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 1 }).create();
    const expected = await first.invoke(['one text']);
    await first.close();
    expect(workers).toHaveLength(1);
    expect(workers[0]!.exitCode).toBeUndefined();

    const second = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 1 }).create();
    expect(await second.invoke(['one text'])).toEqual(expected);
    await second.close();
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests.map(requestTexts)).toEqual([['one text'], ['one text']]);
  });

  it('the feeds builder of the second instance runs on the first one\'s thread', async () => {
    const workers = watchSessionWorkers();
    const first = await threadOf();
    expect(first).not.toBe(threadId);
    expect(await threadOf()).toBe(first);
    expect(workers.map((w) => w.thread.threadId)).toEqual([first]);
  });

  it('an instance dropped without close(): once it is garbage, its worker joins the idle ones (which a test can end)', async () => {
    const workers = watchSessionWorkers();
    // In a function of its own, so that nothing here keeps the instance reachable.
    const useOnceAndDrop = async () => void (await linear().invoke(['a']));
    await useOnceAndDrop();
    const giveUpAt = performance.now() + 20_000;
    while (workers[0]!.exitCode === undefined) {
      if (performance.now() > giveUpAt) throw new Error('the dropped instance\'s worker never joined the idle ones');
      collectGarbage();
      await endIdleSessionWorkers();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(workers.map((w) => w.exitCode)).toEqual([0]);
  });

  it('a second job in the process starts no session worker: its batches go to the first job\'s', async () => {
    const workers = watchSessionWorkers();
    const texts = Array.from({ length: 64 }, (_, id) => ({ id, text: `text ${id}` }));
    const job = async () => {
      const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
      const embedder = onnxTextEmbedder({
        model: model(),
        sessionOptions,
        maxWorkers: 1,
        text: (doc: { id: number; text: string }) => doc.text,
        output: (_, doc) => doc.id,
      });
      const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embedder, { maxBatchSize: 8, maxInFlightBatches: 2 }).executeAndCollect('embed');
      return out.sort((a, b) => a - b);
    };
    expect(await job()).toEqual(texts.map((t) => t.id));
    expect(workers).toHaveLength(1);
    const firstJob = workers[0]!.requests.length;
    expect(await job()).toEqual(texts.map((t) => t.id));
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests.length).toBeGreaterThan(firstJob);
    expect(workers[0]!.exitCode).toBeUndefined();
  });
});

describe('what is never reused', () => {
  it('a worker whose run failed: it ends at close, and the next instance starts a new one', async () => {
    const workers = watchSessionWorkers();
    const fn = linear();
    await expect(fn.invoke(['throw'])).rejects.toThrow('the builder was told to throw');
    await fn.close();
    expect(workers.map((w) => w.exitCode)).toEqual([0]);
    expect(await threadOf()).toBe(workers[1]!.thread.threadId);
    expect(workers).toHaveLength(2);
  });

  it('an idle worker whose thread exits leaves the list', async () => {
    const workers = watchSessionWorkers();
    const first = await threadOf();
    // Idle: no run is out, so tearing the thread down cannot abort the process.
    await workers[0]!.thread.terminate();
    expect(workers[0]!.exitCode).toBe(1);
    const second = await threadOf();
    expect(second).not.toBe(first);
    expect(second).toBe(workers[1]!.thread.threadId);
    expect(workers).toHaveLength(2);
  });

  it('an idle worker whose thread fails leaves the list', async () => {
    const workers = watchSessionWorkers();
    const name = `crash-${process.pid}-${Math.random()}`;
    const first = await threadOf({ feeds: { scale: 1, crashOn: name } });
    const crashed = exitOf(workers[0]!);
    const channel = new BroadcastChannel(name);
    channel.postMessage('crash');
    await crashed;
    channel.close();
    expect(workers[0]!.exitCode).toBe(1);
    const second = await threadOf({ feeds: { scale: 1, crashOn: name } });
    expect(second).not.toBe(first);
    expect(workers).toHaveLength(2);
  });

  it('across different models, session options or feeds builder options', async () => {
    const workers = watchSessionWorkers();
    const first = await threadOf();
    const others = [
      await threadOf({ model: linearPaths[1]! }),
      await threadOf({ sessionOptions: { intraOpNumThreads: 2 } }),
      await threadOf({ feeds: { scale: 1, width: 4 } }),
    ];
    expect(new Set([first, ...others]).size).toBe(4);
    // Every one of them waits idle, and an instance equal to the first takes the first's thread.
    expect(workers.every((w) => w.exitCode === undefined)).toBe(true);
    expect(await threadOf()).toBe(first);
    expect(workers).toHaveLength(4);
  });

  it('across a model file rewritten at the same path: the next instance loads the new model', async () => {
    const workers = watchSessionWorkers();
    const path = join(dirname(model().path), 'rewritten.onnx');
    const texts = ['the same path', 'another model'];
    const embed = async (maxWorkers?: number) => {
      const embedder = onnxTextEmbedder({ model: path, sessionOptions, ...(maxWorkers === undefined ? {} : { maxWorkers }) }).create();
      try {
        return await embedder.invoke(texts);
      } finally {
        await embedder.close();
      }
    };
    await generateEmbedderModel({ path, seed: 1 });
    const before = await embed();
    await generateEmbedderModel({ path, seed: 2 });
    const after = await embed();
    expect(after).toEqual(await embed(0));
    expect(after).not.toEqual(before);
    expect(workers).toHaveLength(2);
  });

  it('within one instance, a model file replaced while it runs: a worker it starts after runs no other model', async () => {
    const path = join(dirname(model().path), 'replaced-midway.onnx');
    await generateEmbedderModel({ path, seed: 1 });
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: path, sessionOptions, maxWorkers: 2 }).create();
    const twoAtOnce = () => Promise.all([embedder.invoke(['one text']), embedder.invoke(['one text'])]);
    try {
      const before = await embedder.invoke(['one text']);
      await generateEmbedderModel({ path, seed: 2 });
      // Two calls at once: the pool grows to a second worker, which would load the new file.
      expect(await twoAtOnce()).toEqual([before, before]);
      const second = workers[1]!;
      if (second.replies.length === 0) await new Promise((resolve) => second.thread.once('message', resolve));
      // It refused to serve: the next two calls at once run on the first worker, with the model the instance opened.
      expect(workers.events).toContain('failed 1');
      expect(await twoAtOnce()).toEqual([before, before]);
    } finally {
      await embedder.close();
    }
  });

  it('across session options changed in place after the first instance made its worker', async () => {
    const workers = watchSessionWorkers();
    const options = { intraOpNumThreads: 1 };
    const first = await threadOf({ sessionOptions: options });
    options.intraOpNumThreads = 2;
    expect(await threadOf({ sessionOptions: options })).not.toBe(first);
    expect(workers).toHaveLength(2);
  });

  it('a worker of a model given as bytes: it ends at close', async () => {
    const workers = watchSessionWorkers();
    const first = await threadOf({ model: LINEAR_MODEL });
    expect(workers.map((w) => w.exitCode)).toEqual([0]);
    expect(await threadOf({ model: LINEAR_MODEL })).not.toBe(first);
    expect(workers).toHaveLength(2);
  });
});

describe('a job after a job whose feeds builder failed', () => {
  it('runs on new workers in place of those whose calls failed, and emits every record once', async () => {
    const workers = watchSessionWorkers();
    const ids = Array.from({ length: 400 }, (_, i) => `r${i}`);
    /** A job over the linear model whose builder throws on every third batch of each thread (retried); each output is `record@thread`. */
    const job = async () => {
      const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
      const fn = perSubtask(
        () =>
          new OnnxBatchFunction<string, string>({
            ...linearOptions({ feeds: { scale: 1, failEvery: 3 } }),
            maxWorkers: 2,
            outputs: (results, rows) => rows.map((row, i) => `${row}@${(results['y'] as Tensor).data[2 * i] as number}`),
          }),
      );
      const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(ids), fn, {
        maxBatchSize: 8,
        maxInFlightBatches: 2,
        retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 0 }),
      }).executeAndCollect('builder fails in the worker');
      return { records: out.map((o) => o.split('@')[0]!).sort(), threads: new Set(out.map((o) => Number(o.split('@')[1]))) };
    };
    const first = await job();
    expect(first.records).toEqual([...ids].sort());
    const failedIn = workers.filter((w) => w.replies.some((r) => r.kind === 'error'));
    expect(failedIn.length).toBeGreaterThanOrEqual(1);
    const failedThreads = failedIn.map((w) => w.thread.threadId);
    const startedBefore = workers.length;

    const second = await job();
    // Figures for docs/fault-tolerance.md: 400 records out of each run, 0 lost, 0 duplicated; no thread whose call failed ran the second.
    expect(second.records).toEqual([...ids].sort());
    expect(failedThreads.filter((id) => second.threads.has(id))).toEqual([]);
    expect(failedIn.every((w) => w.exitCode === 0)).toBe(true);
    expect(workers.length).toBeGreaterThan(startedBefore);
  });
});
