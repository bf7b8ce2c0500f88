import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CpuSample } from './measure.js';
import type { RunStats, ScenarioId } from './model.js';

/** What a sample child is asked to measure. */
export interface SampleRequest {
  readonly scenario: ScenarioId;
  readonly contender: string;
  readonly records: number;
  /** Full-size runs before the measured ones (see `warmupRunsFor`). */
  readonly warmupRuns: number;
  /** Runs measured after the warm-up (see `MEASURED_RUNS`). */
  readonly measuredRuns: number;
}

/** What a sample child sends back: a measurement per measured run, or why it failed. */
export type SampleReply = { readonly ok: true; readonly runs: CpuSample<RunStats>[] } | { readonly ok: false; readonly error: string };

/** The child entry point next to this module (built JavaScript: isolation only runs from `dist/`). */
const CHILD_SCRIPT = fileURLToPath(new URL('./sampleChild.js', import.meta.url));

/**
 * Measures one sample of one contender in a fresh Node process: the child
 * prepares the contender, runs it `warmupRuns` times, measures the next
 * `measuredRuns` runs, then exits.
 *
 * A process per sample (as JMH forks a JVM per benchmark), so no contender
 * runs on the JIT feedback and heap another left (docs/internals.md).
 */
export function sampleInChild(request: SampleRequest, script: string = CHILD_SCRIPT): Promise<CpuSample<RunStats>[]> {
  const label = `${request.scenario} ${request.contender}`;
  return new Promise((resolve, reject) => {
    const child = fork(script, [JSON.stringify(request)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: SampleReply | undefined;
    child.on('message', (message) => {
      reply = message as SampleReply;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (reply?.ok === true) resolve(reply.runs);
      else if (reply?.ok === false) reject(new Error(`${label}: ${reply.error}`));
      else reject(new Error(`${label}: the sample process exited (${signal ?? `code ${String(code)}`}) without a measurement`));
    });
  });
}
