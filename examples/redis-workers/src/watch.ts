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
// At most an hour: a longer wait is a typo, and past 2^31 - 1 ms setTimeout fires at once, every millisecond.
if (!(Number.isInteger(every) && every >= 1 && every <= 3_600_000)) fail('watch.js', `--every must be a whole number of milliseconds from 1 to 3600000, got '${values.every}'`);
const watcher = new ProgressWatcher(settings);
// Ctrl-C ends the watch at once, whether it waits for Redis or for the next print.
const interrupted = new Promise<'stop'>((resolve) => process.once('SIGINT', () => resolve('stop')));
for (;;) {
  const progress = await Promise.race([watcher.poll(), interrupted]);
  if (progress === 'stop') break;
  console.log(`${new Date().toISOString().slice(11, 19)} ${formatProgress(progress)}`);
  if (until !== undefined && progress.done >= until && progress.pending === 0) break;
  let wake!: () => void;
  const timer = setTimeout(() => wake(), every);
  const next = await Promise.race([new Promise<'next'>((resolve) => (wake = () => resolve('next'))), interrupted]);
  clearTimeout(timer);
  if (next === 'stop') break;
}
watcher.close();
// A poll still waiting for Redis (down, and retried by ioredis) would hold the process; the watch is over.
process.exit(0);
