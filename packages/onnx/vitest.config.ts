import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@tributary/source'] },
  test: { name: 'onnx', include: ['test/**/*.test.ts'] },
});
