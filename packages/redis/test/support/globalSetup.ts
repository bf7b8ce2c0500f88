/**
 * Vitest global setup: gives the tests a Redis server in
 * `process.env.TRIBUTARY_REDIS_URL` (and `inject('redisUrl')`). An URL that is
 * already set is used as is; otherwise a private `redis-server` is started on
 * a free loopback port (installed with apt-get first when missing) and
 * stopped when the run ends. examples/redis-workers uses it too.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from './redisServer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.TRIBUTARY_REDIS_URL;
  if (given !== undefined && given !== '') {
    project.provide('redisUrl', given);
    return undefined;
  }
  const server = await startRedisServer();
  process.env.TRIBUTARY_REDIS_URL = server.url;
  project.provide('redisUrl', server.url);
  return async () => {
    delete process.env.TRIBUTARY_REDIS_URL;
    await server.stop();
  };
}
