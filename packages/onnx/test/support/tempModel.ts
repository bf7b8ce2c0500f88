import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { generateEmbedderModel, type EmbedderModel } from '../../src/index.js';

/**
 * Generates the default embedder model into a fresh temp dir before the
 * file's tests and removes it after; call at the top of a test file.
 */
export function useTempModel(): () => EmbedderModel {
  let dir: string | undefined;
  let model: EmbedderModel | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-onnx-'));
    model = await generateEmbedderModel({ path: join(dir, 'embedder.onnx') });
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (model === undefined) throw new Error('useTempModel: the model is generated in beforeAll');
    return model;
  };
}
