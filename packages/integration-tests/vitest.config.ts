import { tributaryProject } from '../../vitest.shared.js';

// The crash tests start and kill child processes; give them room. The packaging tests share one packed workspace.
export default tributaryProject('integration-tests', {
  testTimeout: 300_000,
  hookTimeout: 60_000,
  globalSetup: ['./test/packaging/globalSetup.ts'],
});
