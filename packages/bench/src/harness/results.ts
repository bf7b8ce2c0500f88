import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResultsFile, ScenarioResult } from './model.js';

/** Reads a results file; an absent file is an empty one. */
export function readResults(path: string): ResultsFile {
  if (!existsSync(path)) return { schema: 1, scenarios: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResultsFile>;
  if (parsed.schema !== 1 || typeof parsed.scenarios !== 'object') throw new Error(`${path} is not a bench results file (schema 1)`);
  return parsed as ResultsFile;
}

/**
 * Stores fresh scenario results over the old ones: a run of `--scenario S3`
 * replaces S3 and keeps the rest, each scenario carrying its own date,
 * command and machine.
 */
export function mergeResults(previous: ResultsFile, fresh: readonly ScenarioResult[]): ResultsFile {
  const scenarios = { ...previous.scenarios };
  for (const r of fresh) scenarios[r.id] = r;
  return { schema: 1, scenarios };
}

export function writeResults(path: string, results: ResultsFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
