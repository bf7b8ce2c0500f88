// A clean install links the bins of every workspace package that another one depends on, before
// anything is built: a bin that is a build output is missing then, and pnpm prints "Failed to
// create bin" once per dependent. Such bins are committed launchers that import dist/.
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, workspacePackages, type Manifest } from './workspace.js';

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

function binTargets(manifest: Manifest): string[] {
  const bin = manifest['bin'] as string | Record<string, string> | undefined;
  return bin === undefined ? [] : typeof bin === 'string' ? [bin] : Object.values(bin);
}

describe('bins', () => {
  it('of packages another workspace package depends on are committed files, not build outputs', () => {
    const packages = workspacePackages();
    const dependedOn = new Set(packages.flatMap(({ manifest }) => DEPENDENCY_FIELDS.flatMap((field) => Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}))));
    const bins = packages.filter((p) => dependedOn.has(p.manifest.name)).flatMap(({ dir, manifest }) => binTargets(manifest).map((target) => posix.join(dir, target)));
    expect(bins).toContain('packages/onnx/bin/tributary-onnx-model.js');
    expect(bins.filter((bin) => /\/dist\//.test(bin) || !existsSync(join(ROOT, bin)))).toEqual([]);
  });
});
