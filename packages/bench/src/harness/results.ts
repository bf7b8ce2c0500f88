import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResultsFile, ScenarioResult } from './model.js';

/** Version 3: a CPU sample is the median of several measured runs (the scenario says how many); a contender's figure is its best sample, with the median next to it. */
export const RESULTS_SCHEMA = 3 as const;

/** Reads a results file; an absent file is an empty one. */
export function readResults(path: string): ResultsFile {
  if (!existsSync(path)) return { schema: RESULTS_SCHEMA, scenarios: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResultsFile>;
  if (parsed.schema !== RESULTS_SCHEMA || typeof parsed.scenarios !== 'object') {
    throw new Error(`${path} is not a bench results file of schema ${RESULTS_SCHEMA} (an older one lacks fields the docs print: measure again, or delete it)`);
  }
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
  return { schema: RESULTS_SCHEMA, scenarios };
}

export function writeResults(path: string, results: ResultsFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
