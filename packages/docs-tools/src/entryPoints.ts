import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A published package and the source file its main export points at. */
export interface PackageEntryPoint {
  readonly name: string;
  readonly entryPoint: string;
}

interface PackageJson {
  readonly name?: string;
  readonly private?: boolean;
  readonly exports?: Record<string, unknown>;
}

/**
 * Every published (not private) package under `packages/` with the sources
 * of each of its exports (the `@tributary/source` condition): new packages
 * are picked up without editing a list.
 */
export async function publicEntryPoints(root: string): Promise<PackageEntryPoint[]> {
  const found: PackageEntryPoint[] = [];
  const dirs = await readdir(join(root, 'packages'), { withFileTypes: true });
  for (const dir of dirs.filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(await readFile(join(root, 'packages', dir, 'package.json'), 'utf8')) as PackageJson;
    } catch {
      continue;
    }
    if (pkg.private === true || pkg.name === undefined) continue;
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const source = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)['@tributary/source'] : undefined;
      if (typeof source !== 'string') continue;
      found.push({ name: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`, entryPoint: join(root, 'packages', dir, source) });
    }
  }
  return found;
}
