/**
 * Writes N tasks to the input stream.
 *
 * Usage: node dist/feed.js <count> [--from <n>] [--redis <url>] [--input <stream>]
 */
import { feed } from './pipeline.js';
import { parseSettings } from './settings.js';

const { settings, values, rest } = parseSettings(process.argv.slice(2), { from: { type: 'string' } });
const count = Number(rest[0] ?? 10_000);
const from = Number(values.from ?? 0);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(from)) {
  console.error('usage: feed.js <count> [--from <n>]');
  process.exit(2);
}
const started = performance.now();
await feed(settings, count, from);
console.log(`fed tasks ${from}..${from + count - 1} to '${settings.input}' in ${Math.round(performance.now() - started)} ms`);
