import { tributaryProject } from '../../vitest.shared.js';

// The same throwaway redis-server as @tributary/redis' tests (installed with apt-get when missing).
export default tributaryProject('example-redis-workers', {
  globalSetup: ['../../packages/redis/test/support/globalSetup.ts'],
  testTimeout: 120_000,
  hookTimeout: 180_000,
});
