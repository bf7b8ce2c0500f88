import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { silentLogger, StreamExecutionEnvironment } from '@tributary/core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createNgramTokenizer, EMBEDDER_IO, OnnxInputError, onnxBatchFunction, onnxTextEmbedder, packSequences, splitRows } from '../src/index.js';
import { endIdleSessionWorkers } from '../src/session/idleSessionWorkers.js';
import { embedInSlots, type EmbedInSlotsArgs } from './fixtures/embedInSlots.job.js';
import { SENTENCES } from './fixtures/sentences.js';
import { LINEAR_MODEL } from './support/linearModel.js';
import { endIdleWorkersAfterEach, requestTexts, watchSessionWorkers } from './support/sessionWorkers.js';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();
endIdleWorkersAfterEach();
const sessionOptions = { intraOpNumThreads: 1 };

/** A batch that keeps a session busy for a while (tens of milliseconds): long enough that other work visibly happens meanwhile. */
const BIG_BATCH = Array.from({ length: 2_000 }, (_, i) => `${SENTENCES[i % SENTENCES.length]!} ${i}`);

/** Counts the turns of this thread's event loop until `stop` is called. */
function countTurns(): { stop(): number } {
  let turns = 0;
  let running = true;
  const turn = () => {
    if (!running) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop: () => {
      running = false;
      return turns;
    },
  };
}

describe('sessions on worker threads', () => {
  it('runs two calls in flight at once: the second starts and ends while the first is still running', async () => {
    const workers = watchSessionWorkers();
    const embedder = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 2 }).create();
    await Promise.all([embedder.invoke(['warm up one']), embedder.invoke(['warm up two'])]);
    await Promise.all(workers.map((w) => w.ready));
    expect(workers).toHaveLength(2);
    workers.events.length = 0;

    const finished: string[] = [];
    await Promise.all([
      embedder.invoke(BIG_BATCH).then(() => finished.push('big')),
      embedder.invoke(['a short text']).then(() => finished.push('small')),
    ]);
    // Each call went to its own worker, and the small one's request and result came while the big one ran.
    const big = workers.findIndex((w) => requestTexts(w.requests.at(-1)!).length === BIG_BATCH.length);
    const small = 1 - big;
    expect(workers.events).toEqual([`request ${big}`, `request ${small}`, `result ${small}`, `result ${big}`]);
    expect(finished).toEqual(['small', 'big']);
    await embedder.close();

    // The control: one worker runs them one after the other, in the order they came.
    const serial: string[] = [];
    const single = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 1 }).create();
    await single.open();
    await Promise.all([
      single.invoke(BIG_BATCH).then(() => serial.push('big')),
      single.invoke(['a short text']).then(() => serial.push('small')),
    ]);
    expect(serial).toEqual(['big', 'small']);
    await single.close();
  });

  it('keeps the caller\'s event loop free while a batch is inferred (unlike a session run in this thread)', async () => {
    const embedder = onnxTextEmbedder({ model: model(), sessionOptions }).create();
    await embedder.open();
    const call = embedder.invoke(BIG_BATCH);
    const pooled = countTurns();
    await call;
    const pooledTurns = pooled.stop();
    await embedder.close();

    // The same batch on a session in this thread: onnxruntime-node runs it synchronously (inside a setImmediate).
    const session = await InferenceSession.create(model().path, sessionOptions);
    const tokenize = createNgramTokenizer();
    const { ids, mask } = packSequences(BIG_BATCH.map(tokenize));
    const run = session.run({ [EMBEDDER_IO.ids]: ids, [EMBEDDER_IO.mask]: mask });
    const inThread = countTurns();
    await run;
    const inThreadTurns = inThread.stop();
    await session.release();

    expect(inThreadTurns).toBeLessThanOrEqual(1);
    expect(pooledTurns).toBeGreaterThan(50);
  });

  it('gives exactly the outputs of a session run in this thread on the same inputs', async () => {
    const texts = [...SENTENCES, '', 'tiny', SENTENCES.join(' ')];
    const embedder = onnxTextEmbedder({ model: model(), sessionOptions }).create();
    const pooled = await embedder.invoke(texts);
    await embedder.close();

    const session = await InferenceSession.create(model().path, sessionOptions);
    const tokenize = createNgramTokenizer();
    const { ids, mask } = packSequences(texts.map(tokenize));
    const results = await session.run({ [EMBEDDER_IO.ids]: ids, [EMBEDDER_IO.mask]: mask });
    await session.release();
    expect(pooled).toEqual(splitRows(results[EMBEDDER_IO.output] as Tensor));
  });

  it('moves the feeds\' buffers to the worker (copies those of a request posted behind a run), and names an input whose arrays an earlier call already moved', async () => {
    let built: Tensor | undefined;
    const constant = new Tensor('float32', Float32Array.of(1, 1, 1, 1), [1, 4]);
    const fresh = onnxBatchFunction<number[], number>({
      model: LINEAR_MODEL,
      name: 'linear',
      feeds: (rows) => ({ x: (built = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4])) }),
      outputs: (results) => Array.from((results['y'] as Tensor).data as Float32Array).filter((_, i) => i % 2 === 0),
    }).create();
    expect(await fresh.invoke([[1, 2, 3, 4]])).toEqual([12]);
    // Moved, not copied: the caller's array is detached.
    expect((built!.data as Float32Array).byteLength).toBe(0);
    await fresh.close();

    // A request posted behind another's run is copied, so that it can go to another worker if this one ends first.
    const workers = watchSessionWorkers();
    const queued: Tensor[] = [];
    const single = onnxBatchFunction<number[], number>({
      model: LINEAR_MODEL,
      name: 'linear',
      maxWorkers: 1,
      feeds: (rows) => {
        const x = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]);
        queued.push(x);
        return { x };
      },
      outputs: (results) => Array.from((results['y'] as Tensor).data as Float32Array).filter((_, i) => i % 2 === 0),
    }).create();
    await single.open();
    expect(await Promise.all([single.invoke([[1, 2, 3, 4]]), single.invoke([[1, 0, 0, 0]])])).toEqual([[12], [1]]);
    expect(workers[0]!.requests).toHaveLength(2);
    expect(queued.map((x) => (x.data as Float32Array).byteLength)).toEqual([0, 16]);
    await single.close();

    const reused = onnxBatchFunction<number[], number>({
      model: LINEAR_MODEL,
      name: 'linear',
      feeds: () => ({ x: constant }),
      outputs: () => [0],
    }).create();
    await reused.invoke([[0, 0, 0, 0]]);
    const error = await reused.invoke([[0, 0, 0, 0]]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxInputError);
    expect((error as Error).message).toBe(
      "onnx model \"linear\": input 'x' has a buffer that an earlier call moved to the session worker; the feeds builder must create new arrays for every batch",
    );
    await reused.close();
  });
});

describe('maxWorkers: 0, the session on the caller\'s thread', () => {
  it('starts no worker, gives the pooled outputs, and blocks the caller\'s event loop while it infers', async () => {
    const workers = watchSessionWorkers();
    const texts = [...SENTENCES, '', 'tiny'];
    const pooled = onnxTextEmbedder({ model: model(), sessionOptions }).create();
    const expected = await pooled.invoke(texts);
    await pooled.close();
    const started = workers.length;

    const inThread = onnxTextEmbedder({ model: model(), sessionOptions, maxWorkers: 0 }).create();
    await inThread.open();
    expect(await inThread.invoke(texts)).toEqual(expected);
    const call = inThread.invoke(BIG_BATCH);
    const turns = countTurns();
    await call;
    expect(turns.stop()).toBeLessThanOrEqual(1);
    await inThread.close();
    expect(workers).toHaveLength(started);
  });

  it('names the model when its session cannot be created, and the next call tries again', async () => {
    const fn = onnxBatchFunction<number[], number>({
      model: '/nonexistent/linear.onnx',
      maxWorkers: 0,
      feeds: (rows) => ({ x: new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) }),
      outputs: () => [0],
    }).create();
    await expect(fn.invoke([[1, 2, 3, 4]])).rejects.toThrow(/^onnx model "\/nonexistent\/linear\.onnx": cannot create the inference session: /);
    await expect(fn.invoke([[1, 2, 3, 4]])).rejects.toThrow(/cannot create the inference session/);
    await fn.close();
  });

  it('embeds every record of a job with two calls in flight, which take turns on the one session', async () => {
    const workers = watchSessionWorkers();
    const texts = BIG_BATCH.slice(0, 300).map((text, id) => ({ id, text }));
    const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
    const embedder = onnxTextEmbedder({
      model: model(),
      sessionOptions,
      maxWorkers: 0,
      text: (doc: { id: number; text: string }) => doc.text,
      output: (vector, doc) => ({ id: doc.id, length: vector.length }),
    });
    const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embedder, { maxBatchSize: 16, maxInFlightBatches: 2 }).executeAndCollect('in thread');
    expect(out.map((o) => o.id).sort((a, b) => a - b)).toEqual(texts.map((t) => t.id));
    expect(out.every((o) => o.length === model().outputDim)).toBe(true);
    expect(workers).toHaveLength(0);
  });
});

describe('a worker that dies', () => {
  it('fails the call it was running, naming the model; the next call starts a new worker', async () => {
    const workers = watchSessionWorkers((worker) => {
      if (worker === workers[0]) void worker.thread.terminate();
    });
    const embedder = onnxTextEmbedder({ model: model(), sessionOptions }).create();
    const error = await embedder.invoke(BIG_BATCH.slice(0, 500)).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^onnx model ".*embedder\.onnx": the inference worker thread exited with code 1$/);
    const [vector] = await embedder.invoke(['after the crash']);
    expect(vector).toHaveLength(model().outputDim);
    expect(workers).toHaveLength(2);
    await embedder.close();
    // The dead one is gone; the healthy one waits idle for the next job.
    expect(workers.map((w) => w.exitCode)).toEqual([1, undefined]);
  });

  it('goes to the operator\'s retry policy: with every fifth request\'s worker killed, the job still embeds every record exactly once', async () => {
    let requests = 0;
    let killed = 0;
    const workers = watchSessionWorkers((worker) => {
      if (++requests % 5 === 0) {
        killed++;
        void worker.thread.terminate();
      }
    });
    const texts = BIG_BATCH.slice(0, 400).map((text, id) => ({ id, text }));
    const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
    const embedder = onnxTextEmbedder({
      model: model(),
      sessionOptions,
      text: (doc: { id: number; text: string }) => doc.text,
      output: (vector, doc) => ({ id: doc.id, vector }),
    });
    const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embedder, {
      maxBatchSize: 8,
      maxInFlightBatches: 2,
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 0 }),
    }).executeAndCollect('retried after workers died');
    // Figures for docs/fault-tolerance.md: 50 batches, 12 workers killed (every fifth of 62 requests), 0 lost, 0 duplicated.
    expect(killed).toBeGreaterThanOrEqual(10);
    expect(out.map((o) => o.id).sort((a, b) => a - b)).toEqual(texts.map((t) => t.id));
    expect(workers.length).toBeGreaterThan(killed);
    expect(workers.filter((w) => w.exitCode === 1)).toHaveLength(killed);
    await endIdleSessionWorkers();
    expect(workers.every((w) => w.exitCode !== undefined)).toBe(true);
  });

  it('without retries fails the job, naming the operator and the model', async () => {
    const workers = watchSessionWorkers((worker) => void worker.thread.terminate());
    const env = StreamExecutionEnvironment.create({ parallelism: 1, logger: silentLogger });
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(['one', 'two']), onnxTextEmbedder({ model: model(), sessionOptions }), { maxBatchSize: 2 })
      .name('embed')
      .addSink(() => undefined);
    const error = await env.execute('a worker dies').catch((e: unknown) => e);
    expect(String(error)).toContain('embed');
    expect(String(error)).toMatch(/onnx model ".*": the inference worker thread exited with code 1/);
    expect(workers.every((w) => w.exitCode !== undefined)).toBe(true);
  });
});

describe('close and cancel', () => {
  it('a cancelled job ends, and every worker thread it started has stopped or waits idle for the next job', async () => {
    const env = StreamExecutionEnvironment.create({ parallelism: 2, runtime: 'single-thread', logger: silentLogger });
    const texts = Array.from({ length: 2_000 }, (_, i) => `text ${i}`);
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts).rebalance(), onnxTextEmbedder({ model: model(), sessionOptions }), {
      maxBatchSize: 64,
      maxInFlightBatches: 2,
    }).addSink(() => undefined);
    // Cancelled as the first batch goes to a worker (the hook runs only after `client` exists).
    const workers = watchSessionWorkers(() => client.cancel());
    const client = env.executeAsync('cancelled while inferring');
    const result = await client.result;
    expect(result.status).toBe('cancelled');
    expect(workers.length).toBeGreaterThanOrEqual(1);
    // Nothing but the idle list holds a worker: ending the idle ones ends them all.
    await endIdleSessionWorkers();
    expect(workers.every((w) => w.exitCode !== undefined)).toBe(true);
  });

  // A slot's thread ends while its session worker runs a batch (onnxruntime-node used to abort the whole process then,
  // taking the test runner down): the slot ends itself after its closes, and waits for the run as it exits.
  const inSlots = (args: Omit<EmbedInSlotsArgs, 'modelPath' | 'channel' | 'texts' | 'batch'>, onBatch: (client: ReturnType<typeof embedInSlots.executeAsync>) => void) => {
    const channel = new BroadcastChannel(`onnx-slots-${process.pid}-${Math.random()}`);
    const client = embedInSlots.executeAsync({ modelPath: model().path, channel: String(channel.name), texts: 8_000, batch: 4_000, ...args });
    channel.onmessage = () => onBatch(client);
    return client.result.finally(() => channel.close());
  };

  it('a job cancelled while a slot\'s session worker runs a batch, past closeTimeoutMs, ends cancelled and lists that close', async () => {
    let cancelled = false;
    const result = await inSlots({ closeTimeoutMs: 1 }, (client) => {
      if (cancelled) return;
      cancelled = true;
      void client.cancel();
    });
    expect(result.status).toBe('cancelled');
    expect(result.unfinishedCloses.map((c) => c.operator)).toContain("'embed'");
  });

  it('a slot that crashes while its session worker runs a batch fails the job naming the slot', async () => {
    const error = await inSlots({ closeTimeoutMs: 30_000, crash: true }, () => undefined).catch((e: unknown) => e);
    expect(String(error)).toMatch(/slot \d \(of 2\) crashed: the slot crashes/);
  });
});
