import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('package shape', () => {
  it('keeps vitest out of the main entry: only src/vitest imports it', () => {
    const importers = sourceFiles(join(root, 'src'))
      .filter((file) => /from '(vitest|@vitest\/[\w-]+)'/.test(readFileSync(file, 'utf8')))
      .map((file) => file.slice(root.length));
    expect(importers).toEqual(['src/vitest/index.ts']);
  });

  it('declares vitest as an optional peer and exports the vitest helpers on a subpath', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(pkg.peerDependencies.vitest).toBeDefined();
    expect(pkg.peerDependenciesMeta.vitest?.optional).toBe(true);
    expect(pkg.exports['./vitest']).toMatchObject({ '@tributary/source': './src/vitest/index.ts', default: './dist/vitest/index.js' });
  });
});
