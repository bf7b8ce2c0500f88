// The README's example, kept as tested code (test/readmeExample.test.ts runs it).
import { ensureEmbedderModel, onnxTextEmbedder } from '@tributary/onnx';

export async function embedTexts(cacheDir?: string): Promise<{ nearDuplicate: number; unrelated: number }> {
  // Generated on first use (well under a second), then read from the cache.
  const model = await ensureEmbedderModel(cacheDir === undefined ? {} : { cacheDir });
  // A job creates one per subtask from the factory; here, one for direct use.
  const embedder = onnxTextEmbedder({ model, sessionOptions: { intraOpNumThreads: 1 } }).create();
  await embedder.open();
  try {
    const [a, b, c] = await embedder.invoke([
      'The committee decided to postpone the vote until all members had read the final report',
      'The committee decided to postpone the vote until all members had read the draft report',
      'Heavy rain flooded the streets of the old town and closed the main bridge for two days',
    ]);
    // Embeddings are unit length: the dot product is the cosine similarity.
    const cosine = (x: Float32Array, y: Float32Array) => x.reduce((sum, v, i) => sum + v * y[i]!, 0);
    return { nearDuplicate: cosine(a!, b!), unrelated: cosine(a!, c!) };
  } finally {
    await embedder.close();
  }
}
