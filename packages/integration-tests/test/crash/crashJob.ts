/**
 * Runs the crash test's job (crash.job.ts) from the latest checkpoint and
 * prints `done <status>` when it ends.
 *
 * Usage: node --conditions=@tributary/source --import tsx --import <root>/tsx-workers.mjs crashJob.ts <workDir> <guarantee> <runtime>
 */
import type { Runtime } from '@tributary/core';
import { crashJob, type CrashSink } from './crash.job.js';

const [workDir, guarantee, runtime] = process.argv.slice(2) as [string, CrashSink, Runtime];
const result = await crashJob.execute({ workDir, guarantee, runtime }, { jobName: 'crash test', restoreFrom: 'latest' });
process.stdout.write(`done ${result.status}\n`);
