// What bounds S5b (2 calls in flight vs 1), measured piece by piece: `node --expose-gc dist/s5bBound.js [intraOpNumThreads]`
// after `pnpm --filter @tributary/bench build`. Prints each figure with the machine's load average.
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createNgramTokenizer, ensureEmbedderModel, onnxTextEmbedder, packSequences, splitRows } from '@tributary/onnx';
import { Tensor } from 'onnxruntime-node';
import { median } from './harness/measure.js';
import { generateDocs, S5_BATCH, S5_MODEL_DIR } from './scenarios/onnxEmbedding.js';

/** Eval workers (CommonJS): a spin loop of `n` steps, `rounds` passes of a session over pre-packed batches (each posts its own wall time), or a stand-in session that spins `us` µs per request. */
const WORKER = `
const { parentPort, workerData: d } = require('node:worker_threads');
if (d.kind === 'standIn') {
  parentPort.on('message', (m) => {
    if (m === 'stop') return process.exit(0);
    const end = performance.now() + d.us / 1000; while (performance.now() < end);
    parentPort.postMessage(m);
  });
} else if (d.kind === 'spin') {
  const t0 = performance.now(); let x = 0; for (let i = 0; i < d.n; i++) x = (x * 31 + i) | 0; parentPort.postMessage([performance.now() - t0, x]);
} else {
  const ort = require(d.runtime);
  ort.InferenceSession.create(d.model, { intraOpNumThreads: d.intra }).then(async (s) => {
    const feeds = d.batches.map((b) => ({ ids: new ort.Tensor('int64', b.ids, b.dims), mask: new ort.Tensor('float32', b.mask, b.dims) }));
    for (const f of feeds) await s.run(f);
    const t0 = performance.now();
    for (let r = 0; r < d.rounds; r++) for (const f of feeds) await s.run(f);
    parentPort.postMessage([performance.now() - t0]);
  });
}`;

function inWorker(data: Record<string, unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: data });
    worker.once('message', ([ms]: [number]) => {
      resolve(ms);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' / ');
const intra = Number(process.argv[2] ?? 1);
const model = await ensureEmbedderModel({ cacheDir: S5_MODEL_DIR });
const texts = generateDocs(64 * S5_BATCH).map((d) => d.text);
const tokenize = createNgramTokenizer({ vocab: model.vocab });

// 1. Two threads that only compute, against one: what this VM gives two busy threads.
const spinSteps = 300_000_000;
const spinOne = await inWorker({ kind: 'spin', n: spinSteps });
const spinTwo = Math.max(...(await Promise.all([inWorker({ kind: 'spin', n: spinSteps }), inWorker({ kind: 'spin', n: spinSteps })])));
console.log(`two spin threads: ${((2 * spinOne) / spinTwo).toFixed(2)}x the work of one per unit of time (load ${load()})`);

// 2. The sessions alone, on pre-packed batches: one worker against two, nothing on this thread.
const batches = [];
for (let i = 0; i < texts.length; i += S5_BATCH) {
  const { ids, mask } = packSequences(texts.slice(i, i + S5_BATCH).map(tokenize));
  batches.push({ ids: ids.data, mask: mask.data, dims: ids.dims });
}
const rounds = 4;
const session = { kind: 'session', runtime: createRequire(import.meta.url).resolve('onnxruntime-node'), model: model.path, intra, batches, rounds };
const sessionOne = await inWorker(session);
const sessionTwo = Math.max(...(await Promise.all([inWorker(session), inWorker(session)])));
const perEmbedding = (sessionOne * 1e6) / (rounds * texts.length);
console.log(
  `sessions alone (intraOpNumThreads ${intra}): one worker ${perEmbedding.toFixed(0)} ns per embedding; two workers ${((2 * sessionOne) / sessionTwo).toFixed(2)}x its rate (load ${load()})`,
);

// 3. What the pipeline's thread does per embedding besides the pipeline itself: tokenize, pack, split the outputs.
const mainPass = () => {
  for (let i = 0; i < texts.length; i += S5_BATCH) {
    packSequences(texts.slice(i, i + S5_BATCH).map(tokenize));
    splitRows(new Tensor('float32', new Float32Array(S5_BATCH * model.outputDim), [S5_BATCH, model.outputDim]));
  }
};
for (let r = 0; r < 3; r++) mainPass();
const before = process.cpuUsage();
for (let r = 0; r < 10; r++) mainPass();
const used = process.cpuUsage(before);
console.log(`tokenize + pack + split on the pipeline's thread: ${(((used.user + used.system) * 1_000) / (10 * texts.length)).toFixed(0)} ns CPU per embedding (load ${load()})`);

// 4. Starting a session worker (thread, onnxruntime, session): what a second call in flight waits for the first time.
const starts: number[] = [];
for (let i = 0; i < 5; i++) {
  // A logId of its own: an idle worker of an equal embedder would otherwise serve it at once (workers outlive instances).
  const embedder = onnxTextEmbedder({ model, sessionOptions: { intraOpNumThreads: intra, logId: `start ${i}` } }).create();
  const t0 = performance.now();
  await embedder.open();
  starts.push(performance.now() - t0);
  await embedder.close();
}
console.log(`starting a session worker: ${median(starts).toFixed(0)} ms, median of 5 (load ${load()})`);

// 5. The two rows with a stand-in for the model: each worker spins STAND_IN_US per request, and this thread spins
// its per-batch share (`mainUs`) around each post, split as the pipeline's work is: some before the post, the rest after.
const STAND_IN_US = 640;
const BEFORE_POST = 0.4;
const spinFor = (us: number) => {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
};
async function standIn(calls: number, mainUs: number, batches = 512): Promise<number> {
  const workers = Array.from({ length: calls }, () => new Worker(WORKER, { eval: true, workerData: { kind: 'standIn', us: STAND_IN_US } }));
  const t0 = performance.now();
  let left = batches;
  await Promise.all(
    workers.map(async (worker) => {
      while (left-- > 0) {
        spinFor(mainUs * BEFORE_POST);
        const answered = new Promise((resolve) => worker.once('message', resolve));
        worker.postMessage(left);
        spinFor(mainUs * (1 - BEFORE_POST));
        await answered;
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await Promise.all(workers.map((worker) => worker.terminate()));
  return elapsed;
}
for (const mainUs of [170, 140, 80, 0]) {
  const ratios: number[] = [];
  for (let r = 0; r < 3; r++) ratios.push((await standIn(1, mainUs)) / (await standIn(2, mainUs)));
  console.log(`stand-in, ${mainUs} µs of this thread's work per batch: two calls ${ratios.map((x) => x.toFixed(2)).join(', ')}x one (load ${load()})`);
}
