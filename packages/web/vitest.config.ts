import { tributaryProject } from '../../vitest.shared.js';

// The page is bundled once before the tests: the server serves it from dist/page/ as a published build does.
export default tributaryProject('web', { globalSetup: ['./test/support/bundlePage.ts'] });
