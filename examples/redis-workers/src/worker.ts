/**
 * One worker: reads tasks through the consumer group, scores them, writes
 * results; checkpoints to ./checkpoints/<name> and resumes from there.
 * Start as many as you like with different names; Ctrl-C drains one (a second Ctrl-C cancels it). Its
 * job runs in --parallelism task slots (worker threads), default 2.
 *
 * Usage: node dist/worker.js <name> [--parallelism <n>] [--checkpoints <dir>] [--redis <url>] [--input ...] [--output ...] [--group ...]
 */
import { join } from 'node:path';
import { workerJob } from './pipeline.js';
import { fail, parseSettings } from './settings.js';

const USAGE = `usage: worker.js <name> [flags]

Reads tasks through the consumer group, scores them and writes results; Ctrl-C drains it
(it finishes what it has in flight and ends), a second Ctrl-C cancels it.

  <name>               the worker's name: its slots read as consumers <name>-0, <name>-1, ... (<name> alone at parallelism 1)
  --parallelism <n>    task slots (worker threads), default 2; keep it across restarts
  --checkpoints <dir>  where it checkpoints and resumes from (default checkpoints/<name>)`;

const { settings, values, rest } = parseSettings(process.argv.slice(2), USAGE, { checkpoints: { type: 'string' }, parallelism: { type: 'string' } });
const name = rest[0];
const parallelism = Number(values.parallelism ?? 2);
if (name === undefined || name === '') fail('worker.js', 'the worker needs a name');
if (rest.length > 1) fail('worker.js', `one name only, got ${rest.length}: ${rest.join(' ')}`);
if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 128) fail('worker.js', `--parallelism must be a whole number from 1 to 128, got '${values.parallelism}'`);
if (values.checkpoints?.trim() === '') fail('worker.js', '--checkpoints needs a directory');
const checkpoints = values.checkpoints ?? join('checkpoints', name);
const job = workerJob.executeAsync({ settings, name, checkpoints, parallelism }, { jobName: `worker ${name}`, restoreFrom: 'latest' });
// The first Ctrl-C or SIGTERM drains: the worker reads no more, finishes the tasks it has in flight, commits and
// acks them, and ends; the others take the rest. A second one cancels at once (what it held is in its checkpoint).
let stopping = false;
const stop = () => {
  if (stopping) job.cancel();
  else job.drain();
  stopping = true;
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
console.log(`worker ${name} started (parallelism ${parallelism}): group '${settings.group}' on '${settings.input}' -> '${settings.output}', checkpoints in ${checkpoints}`);
const result = await job.result;
const records = result.operators.find((o) => o.name === 'tasks')?.recordsOut ?? 0;
console.log(`worker ${name} stopped (${result.status}) after ${records} tasks in ${Math.round(result.runtimeMs / 1000)} s`);
