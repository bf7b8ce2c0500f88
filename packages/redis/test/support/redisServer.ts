/**
 * A throwaway `redis-server` for the tests: found on PATH, installed with
 * apt-get when missing (as root), started on a free loopback port without
 * persistence, stopped at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';

export interface RunningRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** Serializes installs between test suites that start at the same time (apt takes a lock and fails without waiting). */
const INSTALL_LOCK = join(tmpdir(), 'tributary-redis-install.lock');
/** Debian installs the server in /usr/bin; /usr/sbin and /usr/local/bin cover other layouts and a PATH without them. */
const EXTRA_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];

function findOnPath(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

function install(): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      'redis-server is not on PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`, macOS: `brew install redis`) ' +
        'or point the tests at a running server with TRIBUTARY_REDIS_URL=redis://127.0.0.1:6379.',
    );
  }
  const script = 'command -v redis-server >/dev/null || { apt-get update && apt-get install -y --no-install-recommends redis-server; }';
  console.log(`[redis tests] redis-server is not on PATH; installing it: flock ${INSTALL_LOCK} sh -c '${script}'`);
  const result = spawnSync('flock', [INSTALL_LOCK, 'sh', '-c', script], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) throw new Error(`installing redis-server with apt-get failed (exit ${String(result.status)})`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connections are expected until the server listens.
  client.on('error', () => undefined);
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${String(child.exitCode)}:\n${log()}`);
      try {
        await client.connect();
        await client.ping();
        return;
      } catch {
        client.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`redis-server did not answer PING at ${url} within 5 s:\n${log()}`);
  } finally {
    client.disconnect();
  }
}

/** Starts a private `redis-server` (installing it first if needed) and resolves once it answers. */
export async function startRedisServer(): Promise<RunningRedis> {
  let binary = findOnPath('redis-server');
  if (binary === undefined) {
    install();
    binary = findOnPath('redis-server');
    if (binary === undefined) throw new Error('redis-server is still not on PATH after apt-get install');
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `redis://127.0.0.1:${port}`;
  console.log(`[redis tests] started ${binary} ${args.map((a) => (a === '' ? "''" : a)).join(' ')} (pid ${String(child.pid)})`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilReady(url, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      console.log(`[redis tests] stopped redis-server on port ${port}`);
    },
  };
}
