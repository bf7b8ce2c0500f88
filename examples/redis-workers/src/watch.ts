/**
 * Prints where the work stands every second: tasks fed, done, duplicates,
 * pending per worker, results per worker.
 *
 * Usage: node dist/watch.js [--until <tasks done>] [--every <ms>] [--redis <url>] ...
 */
import { formatProgress, ProgressWatcher } from './progress.js';
import { parseSettings } from './settings.js';

const { settings, values } = parseSettings(process.argv.slice(2), { until: { type: 'string' }, every: { type: 'string' } });
const until = values.until === undefined ? undefined : Number(values.until);
const every = Number(values.every ?? 1_000);
const watcher = new ProgressWatcher(settings);
let stopped = false;
process.once('SIGINT', () => (stopped = true));
while (!stopped) {
  const progress = await watcher.poll();
  console.log(`${new Date().toISOString().slice(11, 19)} ${formatProgress(progress)}`);
  if (until !== undefined && progress.done >= until && progress.pending === 0) break;
  await new Promise((resolve) => setTimeout(resolve, every));
}
watcher.close();
