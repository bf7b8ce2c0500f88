import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates a directory and its missing parents (`mkdir -p`), and returns the
 * first directory it created (`undefined` when the directory existed), as
 * `mkdir(path, { recursive: true })` does; `mode` applies to each one created.
 *
 * Node's recursive `mkdir` never settles where a parent exists but cannot
 * hold the child (a path under `/proc`, a parent that is a dangling symlink):
 * it retries at full CPU forever. Here a child still missing once its parent
 * exists is an error.
 */
export function makeDirectory(path: string, mode?: number): Promise<string | undefined> {
  // A throw in the executor rejects the promise: callers get mkdir's errors as a rejection.
  return new Promise((resolve) => resolve(makeDirectorySync(path, mode)));
}

/**
 * {@link makeDirectory}, synchronously: the directory lock creates a job's directories before the job starts. The one
 * walk for both: a few `mkdir` calls, once per directory a job or a writer opens.
 */
export function makeDirectorySync(path: string, mode?: number): string | undefined {
  const target = resolve(path);
  const options = mode === undefined ? {} : { mode };
  try {
    mkdirSync(target, options);
    return target;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingDirectory(target, error);
    const parent = dirname(target);
    if (code !== 'ENOENT' || parent === target) throw error;
  }
  const first = makeDirectorySync(dirname(target), mode);
  try {
    mkdirSync(target, options);
  } catch (error) {
    // Made meanwhile by someone else: fine, if it is a directory. A second ENOENT is final.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    existingDirectory(target, error);
  }
  return first ?? target;
}

/** `path` exists: undefined if it is a directory (through symlinks), else the `EEXIST` error mkdir gave. */
function existingDirectory(path: string, exists: unknown): undefined {
  if (!statSync(path).isDirectory()) throw exists;
  return undefined;
}
