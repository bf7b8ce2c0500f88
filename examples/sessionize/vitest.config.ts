import { tributaryProject } from '../../vitest.shared.js';

export default tributaryProject('example-sessionize');
