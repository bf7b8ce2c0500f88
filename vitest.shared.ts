import { fileURLToPath } from 'node:url';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const SETUP = fileURLToPath(new URL('./vitest.setup.ts', import.meta.url));

/** Registers tsx in the worker threads tests start (slots), which load TypeScript natively: see the file. */
const WORKERS = fileURLToPath(new URL('./tsx-workers.mjs', import.meta.url));

/**
 * The vitest project settings every package uses: resolve workspace packages
 * to their TypeScript sources (the `@tributary/source` export condition), so
 * tests run without a build. Vitest resolves for Node through Vite's SSR
 * resolver, hence `ssr.resolve`.
 *
 * Worker threads inherit the process's options (the `@tributary/source`
 * condition vitest sets among them) and preload `tsx-workers.mjs`.
 *
 * Every test file runs with `--unhandled-rejections=strict`: a rejection no
 * one handles crashes the worker and fails the run, so no fault case can pass
 * while leaking one. `vitest.setup.ts` keeps the runtime's default log
 * lines out of the test output.
 */
export function tributaryProject(name: string, test: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  const conditions = ['@tributary/source', 'import', 'node', 'default'];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: { name, include: ['test/**/*.test.ts'], execArgv: ['--unhandled-rejections=strict', `--import=${WORKERS}`], setupFiles: [SETUP], ...test },
  });
}
