/**
 * Prints where the work stands every second: tasks fed, done, duplicates,
 * pending per worker, results per worker.
 *
 * Usage: node dist/watch.js [--until <tasks done>] [--every <ms>] [--redis <url>] ...
 */
import { formatProgress, ProgressWatcher } from './progress.js';
import { fail, parseSettings } from './settings.js';

const USAGE = `usage: watch.js [flags]

Prints where the work stands every second, until Ctrl-C.

  --until <n>        stop once <n> tasks are done and none is pending
  --every <ms>       print every <ms> milliseconds (default 1000)`;

const { settings, values, rest } = parseSettings(process.argv.slice(2), USAGE, { until: { type: 'string' }, every: { type: 'string' } });
const until = values.until === undefined ? undefined : Number(values.until);
const every = Number(values.every ?? 1_000);
if (rest.length > 0) fail('watch.js', `it takes no arguments, got: ${rest.join(' ')}`);
if (until !== undefined && !(Number.isInteger(until) && until >= 0)) fail('watch.js', `--until must be a whole number >= 0, got '${values.until}'`);
if (!(Number.isInteger(every) && every >= 1)) fail('watch.js', `--every must be a whole number of milliseconds >= 1, got '${values.every}'`);
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
