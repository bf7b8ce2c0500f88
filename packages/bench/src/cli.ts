/**
 * `pnpm bench`: runs the scenarios side by side (the per-record ones in a
 * fresh process per sample of each contender, see `sampleInChild`), prints
 * the tables, stores results/latest.json and regenerates docs/benchmarks.md
 * and its charts from it.
 */
import { gcExposed } from './harness/measure.js';
import type { ScenarioResult } from './harness/model.js';
import { mergeResults, readResults, writeResults } from './harness/results.js';
import { ALL_SCENARIOS, parseOptions, USAGE, type BenchOptions } from './options.js';
import { paths } from './paths.js';
import { renderConsoleTable } from './report/console.js';
import { writeDocs } from './report/docs.js';
import { buildScenarios, runScenario } from './scenarios/index.js';

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  if (options.docsOnly) {
    const written = writeDocs(readResults(paths.latestResults), paths);
    console.log(`wrote ${written.join(', ')}`);
    return;
  }
  if (!gcExposed()) console.warn('bench: run node with --expose-gc (pnpm bench does): without it, GC between runs is not forced');

  const command = describeCommand();
  const scenarios = buildScenarios();
  const fresh: ScenarioResult[] = [];
  for (const id of ALL_SCENARIOS.filter((s) => options.scenarios.includes(s))) {
    const result = await runScenario(scenarios[id], options, command, (line) => {
      console.log(line);
    });
    console.log(`\n${renderConsoleTable(result)}\n`);
    fresh.push(result);
  }

  const file = options.quick ? paths.quickResults : paths.latestResults;
  const results = mergeResults(readResults(file), fresh);
  writeResults(file, results);
  console.log(`results: ${file}`);
  if (!options.quick && !options.noDocs) {
    const written = writeDocs(results, paths);
    console.log(`docs: ${written.join(', ')}`);
  }
}

/** The command that reproduces this run, for the docs (without --note, which changes no figure). */
function describeCommand(): string {
  const argv = process.argv.slice(2);
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--note') {
      i++;
      continue;
    }
    if (arg.startsWith('--note=')) continue;
    args.push(/[\s"']/.test(arg) ? `'${arg}'` : arg);
  }
  const env = ['BENCH_RECORDS', 'BENCH_REPS'].flatMap((name) => {
    const value = process.env[name];
    return value === undefined ? [] : [`${name}=${value}`];
  });
  return [...env, 'pnpm bench', ...(args.length > 0 ? ['--', ...args] : [])].join(' ');
}

await main();
