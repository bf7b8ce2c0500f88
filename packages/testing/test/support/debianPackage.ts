/**
 * A command from a Debian package for tests that need a real program
 * (Chromium, redis-server): found on PATH, or installed with apt-get when
 * missing and the tests run as root on Linux (CI). Elsewhere the tests fail
 * with what to install; they never skip.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface DebianPackage {
  /** The apt package: `chromium`, `redis-server`. */
  readonly name: string;
  /** The commands it may provide, in order of preference (the first is the one installed). */
  readonly commands: readonly [string, ...string[]];
  /** Who asks, for the log: `web tests`. */
  readonly requester: string;
  /** The error when it is missing and cannot be installed here: how to install it or do without. */
  readonly missing: string;
}

/** One lock for every install: apt takes its own lock and fails without waiting, also for two different packages. */
const INSTALL_LOCK = join(tmpdir(), 'tributary-apt-install.lock');
/** Debian puts programs in /usr/bin (servers sometimes in /usr/sbin); both and /usr/local/bin cover a PATH without them. */
const EXTRA_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];

function findOnPath(commands: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const command of commands) {
    for (const dir of dirs) {
      const candidate = join(dir, command);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not in this directory.
      }
    }
  }
  return undefined;
}

/** The path of the package's command, installing the package first if none is on PATH. */
export function ensureDebianPackage(pkg: DebianPackage): string {
  const found = findOnPath(pkg.commands);
  if (found !== undefined) return found;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) throw new Error(pkg.missing);
  const script = `command -v ${pkg.commands[0]} >/dev/null || { apt-get update && apt-get install -y --no-install-recommends ${pkg.name}; }`;
  console.log(`[${pkg.requester}] ${pkg.commands[0]} is not on PATH; installing it: flock ${INSTALL_LOCK} sh -c '${script}'`);
  const result = spawnSync('flock', [INSTALL_LOCK, 'sh', '-c', script], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) throw new Error(`installing ${pkg.name} with apt-get failed (exit ${String(result.status)})`);
  const installed = findOnPath(pkg.commands);
  if (installed === undefined) throw new Error(`${pkg.commands[0]} is still not on PATH after apt-get install`);
  return installed;
}
