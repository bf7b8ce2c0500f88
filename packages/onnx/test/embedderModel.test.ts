import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_EMBEDDER_CONFIG,
  DEFAULT_MODEL_CACHE_DIR,
  buildEmbedderModel,
  ensureEmbedderModel,
  generateEmbedderModel,
} from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-onnx-model-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('buildEmbedderModel', () => {
  it('is deterministic in its seed', () => {
    const small = { vocab: 256, dim: 16 };
    expect(Buffer.from(buildEmbedderModel({ ...small, seed: 7 })).equals(buildEmbedderModel({ ...small, seed: 7 }))).toBe(true);
    expect(Buffer.from(buildEmbedderModel({ ...small, seed: 7 })).equals(buildEmbedderModel({ ...small, seed: 8 }))).toBe(false);
  });

  it('stays a few MB at the default size (table + projection + framing)', () => {
    const { vocab, dim, outputDim } = DEFAULT_EMBEDDER_CONFIG;
    const weights = (vocab * dim + dim * outputDim) * 4;
    const size = buildEmbedderModel().length;
    expect(size).toBeGreaterThan(weights);
    expect(size).toBeLessThan(weights + 4096);
    expect(size).toBeLessThan(5 * 1024 * 1024);
  });

  it('loads in onnxruntime with the documented inputs and output', async () => {
    const session = await InferenceSession.create(buildEmbedderModel({ vocab: 1024, dim: 32, outputDim: 16 }));
    expect(session.inputMetadata).toEqual([
      { name: 'ids', isTensor: true, type: 'int64', shape: ['batch', 'sequence'] },
      { name: 'mask', isTensor: true, type: 'float32', shape: ['batch', 'sequence'] },
    ]);
    expect(session.outputMetadata).toEqual([{ name: 'embedding', isTensor: true, type: 'float32', shape: ['batch', 16] }]);
    await session.release();
  });

  it('rejects out-of-range options, naming the option', () => {
    expect(() => buildEmbedderModel({ vocab: 1 })).toThrow("buildEmbedderModel: option 'vocab' must be an integer in [2, 16777216], got 1");
    expect(() => buildEmbedderModel({ dim: 2.5 })).toThrow("option 'dim' must be an integer in [1, 4096], got 2.5");
    expect(() => buildEmbedderModel({ dim: 8, outputDim: 9 })).toThrow("option 'outputDim' must be an integer in [1, 8], got 9");
    expect(() => buildEmbedderModel({ seed: -1 })).toThrow("option 'seed' must be an integer in [0, 4294967295], got -1");
  });
});

describe('generateEmbedderModel', () => {
  it('writes the built model to the path, creating directories, and leaves no temp file', async () => {
    const path = join(dir, 'nested', 'deeper', 'model.onnx');
    const model = await generateEmbedderModel({ path, vocab: 512, dim: 8, seed: 3 });
    expect(model).toEqual({ path, seed: 3, vocab: 512, dim: 8, outputDim: 8 });
    expect(Buffer.from(await readFile(path)).equals(buildEmbedderModel({ vocab: 512, dim: 8, seed: 3 }))).toBe(true);
    expect(await readdir(join(dir, 'nested', 'deeper'))).toEqual(['model.onnx']);
  });
});

describe('ensureEmbedderModel', () => {
  it('generates into the cache once, under a name that encodes the configuration', async () => {
    const cacheDir = join(dir, 'cache');
    const first = await ensureEmbedderModel({ cacheDir, vocab: 512, dim: 8 });
    expect(first.path).toBe(join(cacheDir, 'embedder-r2-s42-v512-d8-o8.onnx'));
    // A second call trusts the cached file rather than regenerating it.
    await writeFile(first.path, 'cached');
    const again = await ensureEmbedderModel({ cacheDir, vocab: 512, dim: 8 });
    expect(again).toEqual(first);
    expect(await readFile(again.path, 'utf8')).toBe('cached');
    const other = await ensureEmbedderModel({ cacheDir, vocab: 512, dim: 8, seed: 1 });
    expect(other.path).toBe(join(cacheDir, 'embedder-r2-s1-v512-d8-o8.onnx'));
    expect((await stat(other.path)).size).toBe(buildEmbedderModel({ vocab: 512, dim: 8, seed: 1 }).length);
  });

  it('defaults to the package .cache directory (gitignored)', () => {
    expect(DEFAULT_MODEL_CACHE_DIR).toBe(fileURLToPath(new URL('../.cache/', import.meta.url)));
  });
});
