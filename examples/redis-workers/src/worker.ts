/**
 * One worker: reads tasks through the consumer group, scores them, writes
 * results; checkpoints to ./checkpoints/<name> and resumes from there.
 * Start as many as you like with different names; Ctrl-C stops one. Its
 * job runs in --parallelism task slots (worker threads), default 2.
 *
 * Usage: node dist/worker.js <name> [--parallelism <n>] [--checkpoints <dir>] [--redis <url>] [--input ...] [--output ...] [--group ...]
 */
import { join } from 'node:path';
import { workerJob } from './pipeline.js';
import { parseSettings } from './settings.js';

const { settings, values, rest } = parseSettings(process.argv.slice(2), { checkpoints: { type: 'string' }, parallelism: { type: 'string' } });
const name = rest[0];
const parallelism = Number(values.parallelism ?? 2);
if (name === undefined || name === '' || !Number.isInteger(parallelism) || parallelism < 1) {
  console.error('usage: worker.js <name> [--parallelism <n>] [--checkpoints <dir>]');
  process.exit(2);
}
const checkpoints = values.checkpoints ?? join('checkpoints', name);
const job = workerJob.executeAsync({ settings, name, checkpoints, parallelism }, { jobName: `worker ${name}`, restoreFrom: 'latest' });
const stop = () => job.cancel();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
console.log(`worker ${name} started (parallelism ${parallelism}): group '${settings.group}' on '${settings.input}' -> '${settings.output}', checkpoints in ${checkpoints}`);
const result = await job.result;
const records = result.operators.find((o) => o.name === 'tasks')?.recordsOut ?? 0;
console.log(`worker ${name} stopped (${result.status}) after ${records} tasks in ${Math.round(result.runtimeMs / 1000)} s`);
