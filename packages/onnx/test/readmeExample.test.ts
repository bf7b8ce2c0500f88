import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { embedTexts } from './examples/embedTexts.js';

it('runs the README example: a near-duplicate scores far above an unrelated text', async () => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'tributary-onnx-readme-'));
  try {
    const { nearDuplicate, unrelated } = await embedTexts(cacheDir);
    expect(nearDuplicate).toBeGreaterThan(0.8);
    expect(unrelated).toBeLessThan(0.5);
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});

it('keeps the README block identical to the tested example file', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const block = /<!-- example: test\/examples\/embedTexts\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  const source = await readFile(new URL('./examples/embedTexts.ts', import.meta.url), 'utf8');
  expect(block).toBe(source);
});
