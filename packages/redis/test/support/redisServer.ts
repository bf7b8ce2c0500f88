/**
 * A throwaway `redis-server` for the tests: found on PATH, installed with
 * apt-get when missing (as root), started on a free loopback port without
 * persistence, stopped at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureDebianPackage } from '../../../testing/test/support/debianPackage.js';

export interface RunningRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
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

/** Starts a private `redis-server` (installing it first if needed) on `port` (a free one by default) and resolves once it answers. */
export async function startRedisServer(port?: number): Promise<RunningRedis> {
  const binary = ensureDebianPackage({
    name: 'redis-server',
    commands: ['redis-server'],
    requester: 'redis tests',
    missing:
      'redis-server is not on PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`, macOS: `brew install redis`) ' +
      'or point the tests at a running server with TRIBUTARY_REDIS_URL=redis://127.0.0.1:6379.',
  });
  port ??= await freePort();
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
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      console.log(`[redis tests] stopped redis-server on port ${port}`);
    },
  };
}
