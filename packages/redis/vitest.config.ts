import { tributaryProject } from '../../vitest.shared.js';

// Tests run against a real redis-server that the global setup starts (installing it with apt-get when missing).
export default tributaryProject('redis', {
  globalSetup: ['./test/support/globalSetup.ts'],
  testTimeout: 120_000,
  hookTimeout: 180_000,
});
