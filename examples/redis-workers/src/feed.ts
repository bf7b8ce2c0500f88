/**
 * Writes N tasks to the input stream.
 *
 * Usage: node dist/feed.js <count> [--from <n>] [--redis <url>] [--input <stream>]
 */
import { feed } from './pipeline.js';
import { fail, parseSettings } from './settings.js';

const USAGE = `usage: feed.js [<count>] [flags]

Writes <count> tasks (default 10000) to the input stream.

  --from <n>         the first task's number (default 0), to continue a numbering`;

const { settings, values, rest } = parseSettings(process.argv.slice(2), USAGE, { from: { type: 'string' } });
const count = Number(rest[0] ?? 10_000);
const from = Number(values.from ?? 0);
if (rest.length > 1) fail('feed.js', `one count only, got ${rest.length}: ${rest.join(' ')}`);
if (!Number.isInteger(count) || count < 1) fail('feed.js', `<count> must be a whole number >= 1, got '${rest[0]}'`);
if (!Number.isInteger(from) || from < 0) fail('feed.js', `--from must be a whole number >= 0, got '${values.from}'`);
const started = performance.now();
await feed(settings, count, from);
console.log(`fed tasks ${from}..${from + count - 1} to '${settings.input}' in ${Math.round(performance.now() - started)} ms`);
