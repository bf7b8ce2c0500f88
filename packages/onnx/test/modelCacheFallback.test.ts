import type * as fsPromises from 'node:fs/promises';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { DEFAULT_MODEL_CACHE_DIR, ensureEmbedderModel, FALLBACK_MODEL_CACHE_DIR } from '../src/index.js';

// The package's own directory refuses writes, as node_modules installed by root does for a job run as another user.
vi.mock('node:fs/promises', async (original) => {
  const actual = await original<typeof fsPromises>();
  const refused = (path: unknown) => {
    if (String(path).startsWith(DEFAULT_MODEL_CACHE_DIR.replace(/\/$/, ''))) {
      throw Object.assign(new Error(`EACCES: permission denied, mkdir '${String(path)}'`), { code: 'EACCES' });
    }
  };
  return {
    ...actual,
    mkdir: async (path: Parameters<typeof actual.mkdir>[0], ...rest: unknown[]) => {
      refused(path);
      return actual.mkdir(path, ...(rest as [never]));
    },
    writeFile: async (path: Parameters<typeof actual.writeFile>[0], ...rest: unknown[]) => {
      refused(path);
      return actual.writeFile(path, ...(rest as [never, never]));
    },
  };
});

// A seed no other test uses: its file is not in either cache before the test.
const seed = 4_242_424;
const name = `embedder-r2-s${seed}-v64-d8-o8.onnx`;
afterAll(() => rm(join(FALLBACK_MODEL_CACHE_DIR, name), { force: true }));

it('generates the model into the temp directory when the package directory cannot be written', async () => {
  const model = await ensureEmbedderModel({ seed, vocab: 64, dim: 8 });
  expect(model.path).toBe(join(FALLBACK_MODEL_CACHE_DIR, name));
  expect((await stat(model.path)).isFile()).toBe(true);
  // The next call finds it there.
  expect((await ensureEmbedderModel({ seed, vocab: 64, dim: 8 })).path).toBe(model.path);
});

it('does not fall back from a cacheDir the caller chose', async () => {
  await expect(ensureEmbedderModel({ seed, vocab: 64, dim: 8, cacheDir: join(DEFAULT_MODEL_CACHE_DIR, 'chosen') })).rejects.toThrow(/EACCES/);
});
