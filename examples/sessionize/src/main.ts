#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { messageOf } from '@tributary/core';
import { sessionizeJob, type Click } from './sessionize.js';

const USAGE = `Usage: pnpm --filter @tributary/example-sessionize start [-- options]

Replays the bundled click log (data/clicks.jsonl, about three hours from
09:00) faster than real time and prints each user session when it closes:
a session ends after --gap minutes without a click, measured with keyed
processing-time timers.

Options:
  --gap MINUTES   pause that ends a session (default 10, at most 1440)
  --speed N       replay N times faster than real time (default 1800: the
                  log takes about 6 seconds; at most 1000000)
  -h, --help      show this help
`;

function fail(message: string): never {
  process.stderr.write(`sessionize: ${message} (see --help)\n`);
  process.exit(2);
}

/** A number in (0, max]: past it the replay would wait longer than anyone watches (and the timers overflow). */
function positive(flag: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) fail(`${flag} must be a number above 0 and at most ${max}, got '${text}'`);
  return value;
}

let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2).filter((arg, i) => i !== 0 || arg !== '--'),
    options: { gap: { type: 'string' }, speed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (error) {
  fail((error as Error).message.split('. ')[0]!);
}
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const gapMinutes = positive('--gap', values.gap, 10, 1440);
const speed = positive('--speed', values.speed, 1800, 1_000_000);

const clicks = readFileSync(new URL('../data/clicks.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as Click);

console.log(`Replaying ${clicks.length} clicks at ${speed}x; a session closes after ${gapMinutes} min without a click.\n`);
// Two task slots (worker threads), the users spread over them; each prints the sessions it closes.
let result;
try {
  result = await sessionizeJob.execute({ clicks, gapSeconds: gapMinutes * 60, speed, print: true }, { jobName: 'sessionize' });
} catch (error) {
  process.stderr.write(`sessionize: ${messageOf(error)}\n`);
  process.exit(1);
}
const count = result.operators.find((o) => o.name === 'print')?.recordsIn ?? 0;
console.log(`\n${count} sessions from ${clicks.length} clicks in ${(result.runtimeMs / 1000).toFixed(1)} s.`);
