import { tributaryProject } from '../../vitest.shared.js';

export default tributaryProject('opentelemetry');
