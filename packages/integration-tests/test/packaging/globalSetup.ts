/**
 * Vitest global setup: packs the workspace once per run (`inject('tarballDir')`),
 * since two `pnpm -r pack` at once would race on the LICENSE each `prepack` copies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { packWorkspace } from './workspace.js';

declare module 'vitest' {
  export interface ProvidedContext {
    tarballDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-pack-'));
  packWorkspace(dir);
  project.provide('tarballDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
