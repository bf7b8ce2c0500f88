import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@tributary/source'] },
  test: { name: 'prometheus', include: ['test/**/*.test.ts'] },
});
