import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import ts from 'typescript';
import { formatMessage } from 'publint/utils';
import { describe, expect, inject, it } from 'vitest';
import { publishedPackages, ROOT, tarballFiles, tarballName, tarballsIn, workspacePackages, type Manifest } from './workspace.js';

const REPOSITORY = 'git+https://github.com/tributary-dev/tributary.git';
const published = publishedPackages();
/** Packed by the global setup, as `pnpm -r pack` does. */
const dest = inject('tarballDir');

/** The package.json a user installs: the one inside the tarball, workspace ranges replaced. */
function packedManifest(tarball: string): Manifest {
  return JSON.parse(execFileSync('tar', ['-xzOf', join(dest, tarball), 'package/package.json'], { encoding: 'utf8' })) as Manifest;
}

describe('npm pack', () => {
  // As a user's shell runs it: without the npm_config_* a pnpm run passes down (npm would take pnpm's user agent for its own).
  const npmPack = (dir: string) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_config_')));
    try {
      execFileSync('npm', ['pack', '--dry-run'], { cwd: join(ROOT, dir), env, encoding: 'utf8', stdio: 'pipe' });
      return 'packed';
    } catch (error) {
      return String((error as { stderr?: string }).stderr);
    }
  };

  it('refuses a package whose Tributary dependencies are workspace ranges, saying to use pnpm; packs one that has none', () => {
    expect(npmPack('packages/async')).toContain(
      "@tributary/async: pack and publish with pnpm (pnpm -r pack, pnpm -r publish, or changeset publish), not npm: npm would ship the dependency '@tributary/core': 'workspace:^' as it is",
    );
    expect(npmPack('packages/core')).toBe('packed');
  });
});

describe('pnpm -r pack', () => {
  it('packs the published packages and none of the private ones', () => {
    expect(published.length).toBeGreaterThanOrEqual(7);
    expect(tarballsIn(dest).sort()).toEqual(published.map((p) => tarballName(p.manifest.name, p.manifest.version!)).sort());
    const privates = workspacePackages().filter((p) => p.manifest.private === true);
    expect(privates.map((p) => p.manifest.version)).toEqual(privates.map(() => undefined));
  });

  describe.each(published.map((p) => [p.manifest.name, p] as const))('%s', (_name, { dir, manifest }) => {
    const tarball = () => join(dest, tarballName(manifest.name, manifest.version!));

    it('holds the licence, the README, the build and its types, and no tests', () => {
      const files = tarballFiles(tarball());
      expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
      expect(files.filter((f) => /(^|\/)(test|node_modules)\/|\.test\.|tsbuildinfo|^tsconfig|^vitest/.test(f))).toEqual([]);
      const license = execFileSync('tar', ['-xzOf', tarball(), 'package/LICENSE'], { encoding: 'utf8' });
      expect(license).toBe(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    });

    it('links only to absolute URLs from its README, which the registry shows away from the repository', () => {
      const readme = execFileSync('tar', ['-xzOf', tarball(), 'package/README.md'], { encoding: 'utf8' });
      expect(readme).toMatch(/^## Install$/m);
      expect([...readme.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1]).filter((url) => !/^(https:\/\/|#)/.test(url!))).toEqual([]);
    });

    it('passes publint, suggestions included', async () => {
      const buffer = readFileSync(tarball());
      const tarballBytes = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
      const { messages, pkg } = await publint({ pack: { tarball: tarballBytes }, level: 'suggestion', strict: true });
      expect(messages.map((m) => formatMessage(m, pkg, { color: false }))).toEqual([]);
    });

    it('describes itself for the registry', () => {
      const packed = packedManifest(tarballName(manifest.name, manifest.version!));
      expect(packed).toMatchObject({
        license: 'Apache-2.0',
        repository: { type: 'git', url: REPOSITORY, directory: dir },
        homepage: `https://github.com/tributary-dev/tributary/tree/main/${dir}#readme`,
        bugs: { url: 'https://github.com/tributary-dev/tributary/issues' },
        engines: { node: '>=20.19' },
        type: 'module',
        // For TypeScript's older resolution (`module: commonjs` before TypeScript 6), which reads no `exports`.
        main: './dist/index.js',
        types: './dist/index.d.ts',
      });
      expect(packed.description).toEqual(expect.any(String));
      expect((packed.keywords as string[]).length).toBeGreaterThan(1);
    });

    it('asks for its Tributary siblings as peers with a caret range, never as pinned dependencies', () => {
      const packed = packedManifest(tarballName(manifest.name, manifest.version!));
      expect(JSON.stringify(packed)).not.toContain('workspace:');
      expect(Object.keys((packed.dependencies as Record<string, string> | undefined) ?? {}).filter((d) => d.startsWith('@tributary/'))).toEqual([]);
      for (const [dep, range] of Object.entries((packed.peerDependencies as Record<string, string> | undefined) ?? {})) {
        if (!dep.startsWith('@tributary/')) continue;
        const sibling = published.find((p) => p.manifest.name === dep)!;
        expect(range).toBe(`^${sibling.manifest.version}`);
      }
    });
  });

  it('publishes declarations without internal members, which type-check on their own (skipLibCheck off)', () => {
    const declarations = published.flatMap(({ dir }) =>
      readdirSync(join(ROOT, dir, 'dist'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.d.ts'))
        .map((f) => join(ROOT, dir, 'dist', f)),
    );
    expect(declarations.length).toBeGreaterThan(50);
    expect(declarations.filter((f) => readFileSync(f, 'utf8').includes('@internal'))).toEqual([]);
    // As a user's strict project reads them: a stripped type that a public signature still names fails here.
    const program = ts.createProgram(declarations, {
      noEmit: true,
      strict: true,
      skipLibCheck: false,
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
    });
    const ours = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || declarations.includes(d.file.fileName));
    expect(ours.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)).toEqual([]);
  });

  it('makes async, the testing kit, the adapters and the web view peers of core, and the ONNX adapter a peer of async', () => {
    const peersOf = (name: string) => Object.keys((published.find((p) => p.manifest.name === name)!.manifest.peerDependencies as object | undefined) ?? {});
    for (const name of ['@tributary/async', '@tributary/testing', '@tributary/onnx', '@tributary/openai', '@tributary/redis', '@tributary/prometheus', '@tributary/opentelemetry', '@tributary/web']) {
      expect(peersOf(name)).toContain('@tributary/core');
    }
    expect(peersOf('@tributary/onnx')).toContain('@tributary/async');
  });
});
