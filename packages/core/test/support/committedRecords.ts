import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The numbers in the visible (committed) part files of a `FileSink` directory, in ascending order. */
export function committedRecords(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('part-'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map(Number)
    .sort((a, b) => a - b);
}
