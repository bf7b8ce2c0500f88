// Embeddings/s of the generated model on this CPU, batch 64 vs batch 1:
//   npx vitest bench --run test/throughput.bench.ts
// Every task embeds the same 64 texts, so embeddings/s = hz × 64.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import {
  createNgramTokenizer,
  generateEmbedderModel,
  onnxTextEmbedder,
  packSequences,
  type OnnxBatchFunction,
} from '../src/index.js';
import { SENTENCES } from './fixtures/sentences.js';

const TEXTS = Array.from({ length: 64 }, (_, i) => `${SENTENCES[i % SENTENCES.length]!} ${i}`);
const sessionOptions = { intraOpNumThreads: 1 };
let dir: string;
let session: InferenceSession;
let embedder: OnnxBatchFunction<string, Float32Array>;
const tokenize = createNgramTokenizer();
const feedsOf = (texts: readonly string[]) => {
  const { ids, mask } = packSequences(texts.map(tokenize));
  return { ids, mask };
};
const batchFeeds = feedsOf(TEXTS);
const singleFeeds = TEXTS.map((text) => feedsOf([text]));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-onnx-bench-'));
  const model = await generateEmbedderModel({ path: join(dir, 'embedder.onnx') });
  session = await InferenceSession.create(model.path, sessionOptions);
  embedder = onnxTextEmbedder({ model, sessionOptions }).create();
  await embedder.open();
});

afterAll(async () => {
  await Promise.all([session.release(), embedder.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('session.run, pre-packed tensors (64 texts per task)', () => {
  bench('1 call of batch 64', async () => {
    await session.run(batchFeeds);
  });
  bench('64 calls of batch 1', async () => {
    for (const feeds of singleFeeds) await session.run(feeds);
  });
});

describe('onnxTextEmbedder.invoke, tokenizing included (64 texts per task)', () => {
  bench('1 call of batch 64', async () => {
    await embedder.invoke(TEXTS);
  });
  bench('64 calls of batch 1', async () => {
    for (const text of TEXTS) await embedder.invoke([text]);
  });
});
