import { configDefaults } from 'vitest/config';
import { tributaryProject } from '../../vitest.shared.js';

// test/node holds node:test files (run by `node --test` in the package's test script), proving the kit works without vitest.
export default tributaryProject('testing', { exclude: [...configDefaults.exclude, 'test/node/**'] });
