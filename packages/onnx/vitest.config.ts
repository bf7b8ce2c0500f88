import { tributaryProject } from '../../vitest.shared.js';

// Sessions run on worker threads: a test that starts them waits for threads and real inference,
// which a loaded 2-core machine can stretch well past vitest's default 5 s.
export default tributaryProject('onnx', { testTimeout: 60_000, hookTimeout: 60_000 });
