import { tributaryProject } from '../../vitest.shared.js';

// The crash tests start and kill child processes; give them room.
export default tributaryProject('integration-tests', { testTimeout: 300_000, hookTimeout: 60_000 });
