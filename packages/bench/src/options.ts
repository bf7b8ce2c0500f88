import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MEASURED_RUNS } from './harness/sampling.js';
import type { ScenarioId } from './harness/model.js';

/** Every scenario the CLI knows, in the order a full run goes through them. */
export const ALL_SCENARIOS: readonly ScenarioId[] = ['S3', 'S4', 'S2', 'S1', 'S1-sweep', 'S1-memory', 'CK', 'S5', 'S5b', 'S4-edge', 'S7', 'S6', 'S8'];

/** What `pnpm bench` was asked to do. */
export interface BenchOptions {
  readonly scenarios: readonly ScenarioId[];
  /** Small record counts and fewer repetitions: a smoke run for CI, never written to the docs. */
  readonly quick: boolean;
  /** Record counts per scenario, overriding the defaults. */
  readonly records: Partial<Record<ScenarioId, number>>;
  readonly repetitions: number | undefined;
  /** Regenerate docs and charts from the stored results without measuring. */
  readonly docsOnly: boolean;
  /** Skip writing docs and charts (results JSON is still written). */
  readonly noDocs: boolean;
  /** Run the repetitions of S2-S5b in this process instead of a fresh process each. */
  readonly inProcess: boolean;
  /** Stored with the results and shown in the docs (e.g. "provisional: shared 2-core machine"). */
  readonly note: string | undefined;
  readonly help: boolean;
}

export const USAGE = `Usage: pnpm bench [-- options]

  --scenario S3,S4     run only these scenarios (${ALL_SCENARIOS.join(', ')}); default: all
  --quick              small record counts, 1 repetition: a smoke run (results/quick.json, docs untouched)
  --records N          records for every scenario run (or S3=N,S4=N,... per scenario; for CK, the records of
                       its S3/S4 overhead runs, the checkpoint always holds 100,000 keys; for S5 and S5b, texts;
                       for S6, documents; for S8, all phases together, in the same proportions)
  --reps N             repetitions per contender (default 9 for S2-S7 and S4-edge, 7 for S1,
                       5 for CK, 3 for S8, 1 for the S1 sweep and memory run; quick 1); in S2-S7, S4-edge and CK's
                       overhead runs, each repetition is a sample of ${MEASURED_RUNS} measured runs
  --docs-only          rewrite docs/benchmarks.md and the charts from results/latest.json
  --no-docs            measure and write results/latest.json, leave the docs alone
  --in-process         measure S2-S5b in this process (default: each sample of each contender in a fresh
                       process, so one contender's JIT feedback and garbage never slow another)
  --note TEXT          a note stored with the results and shown in the docs
  --help

Environment: BENCH_RECORDS, BENCH_REPS and BENCH_NOTE work like --records, --reps and --note.`;

/** The flags of {@link USAGE}; `--scenarios` is another spelling of `--scenario`. */
const FLAGS = {
  scenario: { type: 'string' },
  scenarios: { type: 'string' },
  quick: { type: 'boolean' },
  records: { type: 'string' },
  reps: { type: 'string' },
  note: { type: 'string' },
  'docs-only': { type: 'boolean' },
  'no-docs': { type: 'boolean' },
  'in-process': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Parses argv (after the script name) with `node:util` `parseArgs`, strict:
 * throws an Error with a one-line message naming a bad or unknown flag.
 * A bare `--` is skipped wherever it is: `pnpm bench -- --quick` may pass it on.
 */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const parsed = parseFlags(argv);
  const scenarioSpec = parsed.scenario ?? parsed.scenarios;
  const scenarios = scenarioSpec === undefined ? [...ALL_SCENARIOS] : scenarioSpec.split(',').map((s) => scenarioId(s.trim()));
  const recordsSpec = parsed.records ?? env.BENCH_RECORDS;
  const repsSpec = parsed.reps ?? env.BENCH_REPS;
  return {
    scenarios,
    quick: parsed.quick ?? false,
    records: recordsSpec === undefined ? {} : parseRecords(recordsSpec, scenarios),
    repetitions: repsSpec === undefined ? undefined : positiveInteger('--reps', repsSpec),
    docsOnly: parsed['docs-only'] ?? false,
    noDocs: parsed['no-docs'] ?? false,
    inProcess: parsed['in-process'] ?? false,
    note: parsed.note ?? env.BENCH_NOTE,
    help: parsed.help ?? false,
  };
}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: argv.filter((arg) => arg !== '--'), options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // Node's messages name the flag ("Unknown option '--foo'"); their first line says it all.
    throw new Error(`${(error as Error).message.split('\n')[0]} (try --help)`, { cause: error });
  }
}

function scenarioId(s: string): ScenarioId {
  const found = ALL_SCENARIOS.find((id) => id.toLowerCase() === s.toLowerCase());
  if (found === undefined) throw new Error(`unknown scenario '${s}': expected one of ${ALL_SCENARIOS.join(', ')}`);
  return found;
}

function parseRecords(spec: string, scenarios: readonly ScenarioId[]): Partial<Record<ScenarioId, number>> {
  const out: Partial<Record<ScenarioId, number>> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const n = positiveInteger('--records', part);
      for (const id of scenarios) out[id] = n;
    } else {
      out[scenarioId(part.slice(0, eq).trim())] = positiveInteger('--records', part.slice(eq + 1));
    }
  }
  return out;
}

function positiveInteger(option: string, text: string): number {
  const n = Number(text.trim().replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${option} must be a positive integer, got '${text}'`);
  return n;
}
