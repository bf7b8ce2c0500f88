import { InvalidJobError } from './errors.js';
import type { JobGraph } from './JobGraph.js';
import { restartDelay, type RestartStrategy } from './restartStrategies.js';

/**
 * Refuses a job that would restart or restore a source that cannot read its
 * input again: the new reader would start after what the old one consumed,
 * and the job would end `finished` without those records.
 */
export function checkReplayableSources(
  graph: JobGraph,
  job: { readonly jobName: string; readonly restartStrategy: RestartStrategy; readonly restoreFrom: string | undefined },
): void {
  const needs =
    job.restoreFrom !== undefined
      ? `restoreFrom '${job.restoreFrom}'`
      : restartDelay(job.restartStrategy, 1) !== undefined
        ? `the restart strategy (${job.restartStrategy.kind})`
        : undefined;
  if (needs === undefined) return;
  for (const node of graph.nodes) {
    const t = node.transformation;
    if (t.kind !== 'source' || t.source.replayable !== false) continue;
    throw new InvalidJobError(
      `Job '${job.jobName}': source ${node.description} cannot read its input again, so ${needs} would lose the records it had read. ` +
        'Give it a function that creates the input anew (env.fromAsyncIterable(() => generator()), fromCollection(array)), ' +
        'or run without restarts (RestartStrategies.none()) and without restoreFrom.',
    );
  }
}
