import { describeOperator, InvalidJobError } from './errors.js';
import { restartDelay, type RestartStrategy } from './restartStrategies.js';

/**
 * Refuses a job that would restart or restore a source that cannot read its
 * input again: the new reader would start after what the old one consumed,
 * and the job would end `finished` without those records. The environment
 * checks as soon as both a one-shot source and a restarting strategy are
 * there (adding the source, setting the strategy), and again at `execute()`
 * for `restoreFrom`.
 */
export function checkReplayableSources(
  transformations: Iterable<{ readonly kind: string; readonly name: string; readonly uid?: string | undefined; readonly source?: { readonly replayable?: boolean | undefined } }>,
  job: { readonly jobName?: string | undefined; readonly restartStrategy: RestartStrategy; readonly restoreFrom?: string | undefined },
): void {
  const needs =
    job.restoreFrom !== undefined
      ? `restoreFrom '${job.restoreFrom}'`
      : restartDelay(job.restartStrategy, 1) !== undefined
        ? `the restart strategy (${job.restartStrategy.kind})`
        : undefined;
  if (needs === undefined) return;
  for (const t of transformations) {
    if (t.kind !== 'source' || t.source?.replayable !== false) continue;
    throw new InvalidJobError(
      `${job.jobName === undefined ? '' : `Job '${job.jobName}': `}source ${describeOperator(t.name, t.uid)} cannot read its input again, so ${needs} would lose the records it had read. ` +
        'Give it a function that creates the input anew (env.fromAsyncIterable(() => generator()), fromCollection(array)), ' +
        'or run without restarts (RestartStrategies.none()) and without restoreFrom.',
    );
  }
}
