import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@tributary/source'] },
  test: { name: 'core', include: ['test/**/*.test.ts'] },
});
