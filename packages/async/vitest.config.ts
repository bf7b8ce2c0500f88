import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@tributary/source'] },
  test: { name: 'async', include: ['test/**/*.test.ts'] },
});
