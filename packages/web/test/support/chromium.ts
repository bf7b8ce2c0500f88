/**
 * Headless Chromium for the browser tests: Debian's `chromium`, found on PATH
 * or installed with apt-get when missing (as root), driven by playwright-core.
 * Without a browser the tests fail with what to install; they never skip.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Serializes installs between test files that start at once (apt takes a lock and fails without waiting). */
const INSTALL_LOCK = join(tmpdir(), 'tributary-chromium-install.lock');
const NAMES = ['chromium', 'chromium-browser'];
const EXTRA_DIRS = ['/usr/bin', '/usr/local/bin'];

function findOnPath(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const name of NAMES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
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

function install(): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      'chromium is not on PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y chromium`, macOS: `brew install --cask chromium`) ' +
        'or point the tests at a Chromium or Chrome binary with TRIBUTARY_CHROMIUM=/path/to/chromium.',
    );
  }
  const script = 'command -v chromium >/dev/null || { apt-get update && apt-get install -y --no-install-recommends chromium; }';
  console.log(`[web tests] chromium is not on PATH; installing it: flock ${INSTALL_LOCK} sh -c '${script}'`);
  const result = spawnSync('flock', [INSTALL_LOCK, 'sh', '-c', script], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) throw new Error(`installing chromium with apt-get failed (exit ${String(result.status)})`);
}

/** Launches headless Chromium (installing Debian's package first if needed). */
export async function launchChromium(): Promise<Browser> {
  let binary = process.env.TRIBUTARY_CHROMIUM ?? findOnPath();
  if (binary === undefined) {
    install();
    binary = findOnPath();
    if (binary === undefined) throw new Error('chromium is still not on PATH after apt-get install');
  }
  // Root in CI needs --no-sandbox; the page is our own, served from 127.0.0.1.
  return chromium.launch({ executablePath: binary, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
