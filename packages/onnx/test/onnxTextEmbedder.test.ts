import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidJobError } from '@tributary/core';
import { buildEmbedderModel, createNgramTokenizer, onnxTextEmbedder, type OnnxBatchFunction } from '../src/index.js';
import { SENTENCES, dot, nearDuplicatePairs } from './fixtures/sentences.js';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();
let embedder: OnnxBatchFunction<string, Float32Array>;

beforeAll(async () => {
  embedder = onnxTextEmbedder({ model: model(), sessionOptions: { intraOpNumThreads: 1 } }).create();
  await embedder.open();
});
afterAll(() => embedder.close());

/** Cosine of two texts' n-gram id sets: what the embedding's cosine should approximate. */
function ngramSetCosine(a: string, b: string): number {
  const tokenize = createNgramTokenizer();
  const setA = new Set(tokenize(a));
  const setB = new Set(tokenize(b));
  let shared = 0;
  for (const id of setA) if (setB.has(id)) shared++;
  return shared / Math.sqrt(setA.size * setB.size);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('onnxTextEmbedder', () => {
  it('returns one unit-length vector of the model output width per text', async () => {
    const vectors = await embedder.invoke(SENTENCES);
    expect(vectors).toHaveLength(SENTENCES.length);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(model().outputDim);
      expect(Math.sqrt(dot(vector, vector))).toBeCloseTo(1, 5);
    }
  });

  it('gives identical texts cosine 1, whatever their case and punctuation', async () => {
    const text = SENTENCES[3]!;
    const [a, b, c] = await embedder.invoke([text, text, `${text.toUpperCase()}!!`]);
    expect(dot(a!, b!)).toBeCloseTo(1, 5);
    expect(dot(a!, c!)).toBeCloseTo(1, 5);
  });

  it('puts near-duplicates (one word changed) far above unrelated texts', async () => {
    const near: number[] = [];
    for (const [original, changed] of nearDuplicatePairs()) {
      const [a, b] = await embedder.invoke([original, changed]);
      near.push(dot(a!, b!));
    }
    const vectors = await embedder.invoke(SENTENCES);
    const unrelated: number[] = [];
    for (let i = 0; i < vectors.length; i++) {
      for (let j = i + 1; j < vectors.length; j++) unrelated.push(dot(vectors[i]!, vectors[j]!));
    }
    // Measured with the default model: near-duplicates >= 0.84, unrelated <= 0.37 (median ~0.14).
    expect(Math.min(...near)).toBeGreaterThan(0.8);
    expect(Math.max(...unrelated)).toBeLessThan(0.5);
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(mean(near) - mean(unrelated)).toBeGreaterThan(0.6);
  });

  it('tracks the share of character n-grams two texts have in common', async () => {
    const replacements = ['elephant', 'purple', 'yesterday', 'quietly', 'mountain', 'seventeen', 'window', 'garden'];
    const embedding: number[] = [];
    const overlap: number[] = [];
    for (const sentence of SENTENCES) {
      const words = sentence.split(' ');
      // Replace the first k words, k = 1..8: overlap falls step by step.
      const variants = replacements.map((_, k) =>
        [...replacements.slice(0, k + 1), ...words.slice(k + 1)].join(' '),
      );
      const [base, ...rest] = await embedder.invoke([sentence, ...variants]);
      rest.forEach((vector, k) => {
        embedding.push(dot(base!, vector));
        overlap.push(ngramSetCosine(sentence, variants[k]!));
      });
    }
    // Measured Pearson r ~0.97; a model that ignored n-gram overlap would be near 0.
    expect(pearson(embedding, overlap)).toBeGreaterThan(0.93);
    // Close to a near-duplicate the random projection is precise (measured deviation <= 0.05).
    for (const [original, changed] of nearDuplicatePairs()) {
      const [a, b] = await embedder.invoke([original, changed]);
      expect(Math.abs(dot(a!, b!) - ngramSetCosine(original, changed))).toBeLessThan(0.08);
    }
  });

  it('gives the same vectors batched as one text at a time', async () => {
    const batched = await embedder.invoke(SENTENCES);
    for (const [i, text] of SENTENCES.entries()) {
      const [single] = await embedder.invoke([text]);
      expect(maxAbsDifference(batched[i]!, single!)).toBeLessThan(1e-5);
    }
  });

  it('does not let padding change a short text embedded next to a long one', async () => {
    const short = 'tiny note';
    const long = SENTENCES.join(' ');
    const [alone] = await embedder.invoke([short]);
    const [padded] = await embedder.invoke([short, long]);
    expect(maxAbsDifference(alone!, padded!)).toBeLessThan(1e-5);
  });

  it('is independent of batch composition and order (property)', async () => {
    const singles = await Promise.all(SENTENCES.map(async (text) => (await embedder.invoke([text]))[0]!));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(SENTENCES.length - 1), { minLength: 1, maxLength: 12 }), async (picks) => {
        const vectors = await embedder.invoke(picks.map((i) => SENTENCES[i]!));
        picks.forEach((i, row) => expect(maxAbsDifference(vectors[row]!, singles[i]!)).toBeLessThan(1e-5));
      }),
      { numRuns: 25 },
    );
  });

  it('embeds a text without letters or digits as the zero vector, without NaN', async () => {
    const [empty, symbols] = await embedder.invoke(['', '?! ...']);
    expect(Array.from(empty!).every((x) => x === 0)).toBe(true);
    expect(Array.from(symbols!).every((x) => x === 0)).toBe(true);
  });

  it('maps records to texts and embeddings to outputs, keeping each with its record', async () => {
    const docs = SENTENCES.slice(0, 3).map((body, i) => ({ id: `doc-${i}`, body }));
    const records = onnxTextEmbedder({
      model: model(),
      text: (doc: { id: string; body: string }) => doc.body,
      output: (vector, doc) => ({ id: doc.id, vector }),
    }).create();
    expectTypeOf(records).toEqualTypeOf<OnnxBatchFunction<{ id: string; body: string }, { id: string; vector: Float32Array }>>();
    expectTypeOf(embedder).toEqualTypeOf<OnnxBatchFunction<string, Float32Array>>();
    const outputs = await records.invoke(docs);
    const plain = await embedder.invoke(docs.map((d) => d.body));
    expect(outputs.map((o) => o.id)).toEqual(['doc-0', 'doc-1', 'doc-2']);
    outputs.forEach((o, i) => expect(maxAbsDifference(o.vector, plain[i]!)).toBe(0));
    await records.close();
  });

  it('accepts the model bytes or path, and rejects a vocab that contradicts the model', async () => {
    const byPath = onnxTextEmbedder({ model: model().path }).create();
    const byBytes = onnxTextEmbedder({ model: buildEmbedderModel() }).create();
    const [fromPath] = await byPath.invoke([SENTENCES[0]!]);
    const [fromBytes] = await byBytes.invoke([SENTENCES[0]!]);
    const [fromSpec] = await embedder.invoke([SENTENCES[0]!]);
    expect(maxAbsDifference(fromPath!, fromSpec!)).toBe(0);
    expect(maxAbsDifference(fromBytes!, fromSpec!)).toBe(0);
    await Promise.all([byPath.close(), byBytes.close()]);
    expect(() => onnxTextEmbedder({ model: model(), vocab: 1024 })).toThrow(/option 'vocab' \(1024\) differs from the model's vocab \(8192\)/);
    expect(() => onnxTextEmbedder({ model: model(), vocab: 1024 })).toThrow(InvalidJobError);
  });

  it('names itself, not the tokenizer it builds, when a tokenizer option is bad', () => {
    expect(() => onnxTextEmbedder({ model: model(), ngram: 0 })).toThrow("onnxTextEmbedder: option 'ngram' must be an integer >= 1, got 0");
    expect(() => onnxTextEmbedder({ model: model(), maxLength: 1.5 })).toThrow("onnxTextEmbedder: option 'maxLength' must be an integer >= 1, got 1.5");
  });
});

function pearson(xs: number[], ys: number[]): number {
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}
