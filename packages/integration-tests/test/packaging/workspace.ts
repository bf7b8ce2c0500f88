import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '../../../..');

export interface Manifest {
  readonly name: string;
  readonly version?: string;
  readonly private?: boolean;
  readonly [field: string]: unknown;
}

export interface WorkspacePackage {
  /** Path from the root, as in `repository.directory`: `packages/core`. */
  readonly dir: string;
  readonly manifest: Manifest;
}

/** Every package of the workspace (`packages/*` and `examples/*`). */
export function workspacePackages(): WorkspacePackage[] {
  return ['packages', 'examples'].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((name) => {
      const dir = `${group}/${name}`;
      return { dir, manifest: JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest };
    }),
  );
}

/** The packages the registry gets: every one not marked private. */
export function publishedPackages(): WorkspacePackage[] {
  return workspacePackages().filter((p) => p.manifest.private !== true);
}

/**
 * Packs the workspace as a release would (`pnpm -r pack`, built `dist/` and
 * `prepack` scripts included) into `dest`.
 */
export function packWorkspace(dest: string): void {
  execFileSync('npx', ['-y', 'pnpm@10', '-r', 'pack', '--pack-destination', dest], { cwd: ROOT, stdio: 'ignore' });
}

/** The tarballs in `dir`. */
export function tarballsIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.tgz'));
}

/** The tarball of `name` at `version` as pnpm names it: `tributary-core-0.1.0.tgz`. */
export function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** The paths inside a tarball, without npm's leading `package/`. */
export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^package\//, ''));
}

/** Unpacks a tarball into `dir` (which becomes the package's root), as a package manager installs it. */
export function unpack(tarball: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
}
