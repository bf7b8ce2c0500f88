import { fileURLToPath } from 'node:url';

// src/ and dist/ both sit one level below the package, so the same relative paths work from either.
const packageDir = new URL('../', import.meta.url);
const repoDir = new URL('../../../', import.meta.url);

/** Where results and docs are written. */
export const paths = {
  latestResults: fileURLToPath(new URL('results/latest.json', packageDir)),
  quickResults: fileURLToPath(new URL('results/quick.json', packageDir)),
  docs: fileURLToPath(new URL('docs/benchmarks.md', repoDir)),
  charts: fileURLToPath(new URL('docs/benchmarks/', repoDir)),
};
