// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**', '**/*.config.ts', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'max-params': ['error', 6],
    },
  },
  {
    // Runtime code asks the injected Clock for time, so tests can drive it with a ManualClock.
    files: ['packages/core/src/**/*.ts', 'packages/async/src/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use the injected Clock (clock.schedule) so tests can drive time.' },
        { name: 'setInterval', message: 'Use the injected Clock (clock.schedule) so tests can drive time.' },
        { name: 'Date', message: 'Use the injected Clock (clock.now()) so tests can drive time.' },
        { name: 'setImmediate', message: 'Use yieldToEventLoop() so that drain() knows of the work.' },
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use clock.now().' }],
    },
  },
  {
    // What users run creates directories through one helper (see makeDirectory.ts for why).
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    ignores: ['packages/bench/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name=/^mkdir(Sync)?$/] Property[key.name='recursive']",
          message: "Use makeDirectory() from @tributary/core: Node's recursive mkdir spins forever under /proc or a dangling symlink.",
        },
      ],
    },
  },
  {
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
