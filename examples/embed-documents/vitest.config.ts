import { tributaryProject } from '../../vitest.shared.js';

// The end-to-end tests load the ONNX runtime and run whole jobs: on a loaded 2-core CI machine they take seconds.
export default tributaryProject('example-embed-documents', { testTimeout: 30_000, hookTimeout: 30_000 });
