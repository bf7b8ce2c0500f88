import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The code between `// #region docs` and `// #endregion docs` in a test file. */
export function docRegion(testFile: string): string {
  const source = readFileSync(fileURLToPath(testFile), 'utf8');
  const match = /\/\/ #region docs\n([^]*?)\/\/ #endregion docs/.exec(source);
  if (match === null) throw new Error(`no docs region in ${testFile}`);
  return match[1]!.trim();
}

/** docs/adapters.md of the repository. */
export function adaptersGuide(): string {
  return readFileSync(fileURLToPath(new URL('../../../../docs/adapters.md', import.meta.url)), 'utf8');
}
