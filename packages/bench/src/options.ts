import { MEASURED_RUNS } from './harness/sampling.js';
import type { ScenarioId } from './harness/model.js';

/** Every scenario the CLI knows, in the order a full run goes through them. */
export const ALL_SCENARIOS: readonly ScenarioId[] = ['S3', 'S4', 'S2', 'S1', 'S1-sweep', 'S1-memory', 'CK', 'S5'];

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
  /** Run the repetitions of S2-S5 in this process instead of a fresh process each. */
  readonly inProcess: boolean;
  /** Stored with the results and shown in the docs (e.g. "provisional: shared 2-core machine"). */
  readonly note: string | undefined;
  readonly help: boolean;
}

export const USAGE = `Usage: pnpm bench [-- options]

  --scenario S3,S4     run only these scenarios (${ALL_SCENARIOS.join(', ')}); default: all
  --quick              small record counts, 1 repetition: a smoke run (results/quick.json, docs untouched)
  --records N          records for every scenario run (or S3=N,S4=N,... per scenario; for CK, the records of
                       its S3/S4 overhead runs, the checkpoint always holds 100,000 keys; for S5, texts)
  --reps N             repetitions per contender (default 9 for S2-S5, 7 for S1,
                       5 for CK, 1 for the S1 sweep and memory run; quick 1); in S2-S5 and CK's
                       overhead runs, each repetition is a sample of ${MEASURED_RUNS} measured runs
  --docs-only          rewrite docs/benchmarks.md and the charts from results/latest.json
  --no-docs            measure and write results/latest.json, leave the docs alone
  --in-process         measure S2-S5 in this process (default: each sample of each contender in a fresh
                       process, so one contender's JIT feedback and garbage never slow another)
  --note TEXT          a note stored with the results and shown in the docs
  --help

Environment: BENCH_RECORDS, BENCH_REPS and BENCH_NOTE work like --records, --reps and --note.`;

/** Parses argv (after the script name); throws an Error with a one-line message on a bad flag. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  let scenarios: ScenarioId[] = [...ALL_SCENARIOS];
  let quick = false;
  let docsOnly = false;
  let noDocs = false;
  let inProcess = false;
  let help = false;
  let recordsSpec = env.BENCH_RECORDS;
  let repsSpec = env.BENCH_REPS;
  let note = env.BENCH_NOTE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--':
        break;
      case '--scenario':
      case '--scenarios':
        scenarios = value()
          .split(',')
          .map((s) => scenarioId(s.trim()));
        break;
      case '--quick':
        quick = true;
        break;
      case '--records':
        recordsSpec = value();
        break;
      case '--reps':
        repsSpec = value();
        break;
      case '--note':
        note = value();
        break;
      case '--docs-only':
        docsOnly = true;
        break;
      case '--no-docs':
        noDocs = true;
        break;
      case '--in-process':
        inProcess = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new Error(`unknown option '${arg}' (try --help)`);
    }
  }
  return {
    scenarios,
    quick,
    records: recordsSpec === undefined ? {} : parseRecords(recordsSpec, scenarios),
    repetitions: repsSpec === undefined ? undefined : positiveInteger('--reps', repsSpec),
    docsOnly,
    noDocs,
    inProcess,
    note,
    help,
  };
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
