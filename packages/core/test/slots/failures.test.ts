import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidJobError, JobExecutionError } from '../../src/index.js';
import { until } from '../support/gatedSource.js';
import { buildsOnlyOnMain } from './fixtures/buildThrowsInSlot.job.js';
import { loadsOnlyOnMain } from './fixtures/failsInWorker.job.js';
import { topLevelThrows } from './fixtures/topLevelThrows.job.js';
import { selfStarting } from './fixtures/selfStarting.job.js';
import { selfStartingLater } from './fixtures/selfStartingLater.job.js';
import { closeFailsOnce, deepRecord, failing, fifoLogged, fifoReader, randomGraph, stuckClose, stuckMetrics } from './fixtures/jobs.job.js';

const marker = () => join(mkdtempSync(join(tmpdir(), 'slot-failure-')), 'failed-once');
const failureOf = (result: Promise<unknown>) => result.then(() => undefined, (error: unknown) => error);

describe('failures in slots', { timeout: 30_000 }, () => {
  it('a user error in slot 1 fails the job naming the operator', async () => {
    const error = await failureOf(failing.execute({ n: 100, parallelism: 2, failure: 'throw', at: 51 }, { jobName: 'user error' }));
    expect(error).toBeInstanceOf(JobExecutionError);
    expect((error as Error).message).toBe("Job 'user error' failed in operator 'check': user error at 51");
  });

  it("a DOMException thrown in slot 1 (fetch's AbortError) fails the job with its message", async () => {
    const error = await failureOf(failing.execute({ n: 100, parallelism: 2, failure: 'abort', at: 51 }, { jobName: 'aborted' }));
    // Before, Node 20 sent it as {}: "failed in operator 'check': [object Object]".
    // It arrives as an Error with its message (docs/concepts.md, "What crosses a thread").
    expect((error as Error).message).toBe("Job 'aborted' failed in operator 'check': request for 51 aborted");
  });

  it('a user error in slot 1 restarts the job as its restart strategy says, in fresh slots', async () => {
    const result = await failing.execute({ n: 100, parallelism: 2, failure: 'throw', at: 51, marker: marker(), restarts: 1 });
    expect(result.status).toBe('finished');
    expect(result.restarts).toBe(1);
    expect((result.lastFailure as Error).message).toBe('user error at 51');
    // The second attempt ran all 100 records again; counts add up over attempts (see the next test).
    expect(result.operators.find((o) => o.name === 'Sink: Function')?.recordsIn).toBeGreaterThanOrEqual(100);
  });

  it('record counts add up over attempts, as in one thread', async () => {
    const result = await closeFailsOnce.execute({ n: 100, parallelism: 2, marker: marker() }, { jobName: 'counts' });
    expect(result.restarts).toBe(1);
    // Both attempts took every record: a close failed after the first had, and the restart was from the start.
    // Before, the second attempt's slots overwrote the counts: 100, as if the first had not run.
    const counts = (name: string) => result.operators.find((o) => o.name === name);
    expect(counts('pass')).toMatchObject({ recordsIn: 200, recordsOut: 200 });
    expect(result.metrics['job.counts.operator.pass.0.numRecordsIn']).toBe(100);
    expect(result.metrics['job.counts.operator.pass.1.numRecordsIn']).toBe(100);
  });

  it("gauges read the restarted attempt's slots, not the ended one's", async () => {
    const result = await closeFailsOnce.execute({ n: 100, parallelism: 2, marker: marker() }, { jobName: 'gauges' });
    expect(result.restarts).toBe(1);
    // Before, each gauge kept reading the first attempt's mirror: 1.
    expect(result.metrics['job.gauges.operator.pass.0.attempt']).toBe(2);
    expect(result.metrics['job.gauges.operator.pass.1.attempt']).toBe(2);
  });

  it('process.exit() in user code fails the job naming the slot and the operators it held', async () => {
    const error = await failureOf(failing.execute({ n: 100, parallelism: 2, failure: 'exit', at: 51 }, { jobName: 'exits' }));
    expect((error as Error).message).toBe(
      "Job 'exits' failed: slot 1 (of 2) crashed: it exited with code 3; it held numbers -> check -> Sink: Function (2/2)",
    );
  });

  it('a slot that runs out of its heap (slotHeapMb) fails the job naming the slot, and the process goes on', async () => {
    const error = await failureOf(failing.execute({ n: 100, parallelism: 2, failure: 'memory', at: 51 }, { jobName: 'memory' }));
    expect((error as Error).message).toMatch(
      /^Job 'memory' failed: slot 1 \(of 2\) crashed: .*out of memory.*; it held numbers -> check -> Sink: Function \(2\/2\)$/i,
    );
  });

  it('an error thrown from a timer in user code fails the job naming the slot; the restart strategy applies', async () => {
    // An endless input: only the crash can end this job.
    const error = await failureOf(failing.execute({ n: Number.POSITIVE_INFINITY, parallelism: 2, failure: 'timer', at: 51 }, { jobName: 'timer' }));
    expect((error as Error).message).toBe(
      "Job 'timer' failed: slot 1 (of 2) crashed: thrown from a timer; it held numbers -> check -> Sink: Function (2/2)",
    );
    const result = await failing.execute({ n: 100, parallelism: 2, failure: 'exit', at: 51, marker: marker(), restarts: 1 });
    expect(result.restarts).toBe(1);
    expect((result.lastFailure as Error).message).toMatch(/^slot 1 \(of 2\) crashed: it exited with code 3/);
  });

  it('cancel() terminates a slot whose close blocks its thread, and lists the close', async () => {
    const client = stuckClose.executeAsync({ n: 0, parallelism: 2, closeTimeoutMs: 50 }, { jobName: 'stuck' });
    // While it runs, the slots' metrics reach the main thread's registry (at least once a second), and their task statuses the client.
    const sent = () => stuckMetrics.snapshot({ job_id: client.jobId })['job.stuck.operator.numbers.1.numRecordsOut'] as number | undefined;
    await until(() => (sent() ?? 0) > 0, 'records counted in slot 1');
    expect(client.tasks()).toEqual([
      { task: 'numbers -> stuck (1/2)', waitingOn: undefined, ended: false },
      { task: 'numbers -> stuck (2/2)', waitingOn: undefined, ended: false },
    ]);
    client.cancel();
    const result = await client.result;
    expect(result.status).toBe('cancelled');
    expect([...result.unfinishedCloses].sort((a, b) => a.task.localeCompare(b.task))).toEqual([
      { operator: "'numbers' -> 'stuck'", task: 'numbers -> stuck (1/2)' },
      { operator: "'numbers' -> 'stuck'", task: 'numbers -> stuck (2/2)' },
    ]);
  });

  it('cancel() ends a job whose slot a terminate() cannot end (a FIFO open waiting in the thread pool), and says so', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'slot-fifo-')), 'in');
    execFileSync('mkfifo', [fifo]);
    const client = fifoReader.executeAsync({ n: 0, parallelism: 1, runtime: 'slots', path: fifo, closeTimeoutMs: 50 });
    try {
      await until(() => client.tasks().some((t) => t.waitingOn === 'input'), 'the source waiting');
      client.cancel();
      expect((await client.result).status).toBe('cancelled');
      expect(fifoLogged.map((l) => [l.level, l.fields.event, l.fields.slot])).toContainEqual(['warn', 'slot.threadStuck', 0]);
    } finally {
      // A writer lets the open return, so the thread ends and the test process can exit.
      const writer = await open(fifo, 'w');
      await writer.close();
    }
  });

  it('a message of a slot the main thread cannot read (nested deeper than its stack takes) fails the job instead of losing it', async () => {
    // 8,000 levels: a slot thread's 4 MB stack clones it, the main thread's 1 MB does not read it back.
    const error = await failureOf(deepRecord.executeAndCollect({ n: 1, depth: 8_000, parallelism: 1, runtime: 'slots' }));
    expect(String(error)).toMatch(/a message of slot 0 could not be read in the main thread: Maximum call stack size exceeded/);
  });

  it('a job module that starts its job after an await, once imported, fails the job too, instead of running it again in each slot', async () => {
    const error = await failureOf(selfStartingLater.execute({}));
    expect((error as Error).message).toMatch(/slot [01] \(of 2\) crashed: Job 'Tributary job' was started in a task slot's thread, which imported the job module .*selfStartingLater\.job\.ts/);
  });

  it('a TypeScript job module that does not load in a slot fails the job saying what its threads need', async () => {
    const error = await failureOf(loadsOnlyOnMain.execute({}));
    expect((error as Error).message).toMatch(
      /Slot [01] cannot load the job module file:\/\/.*failsInWorker\.job\.ts: Unknown file extension "\.ts" in this worker thread\. A TypeScript job module needs a TypeScript loader in every worker thread: run its compiled JavaScript, or register one in each thread \(see "TypeScript job modules": https:\/\/github\.com\/tributary-dev\/tributary\/blob\/main\/docs\/concepts\.md#typescript-job-modules\)/,
    );
  });

  it('a job module whose top-level code throws in a slot fails the job saying that slots run that code', async () => {
    const error = await failureOf(topLevelThrows.execute({}));
    expect((error as Error).message).toMatch(
      /Slot [01] cannot load the job module file:\/\/.*topLevelThrows\.job\.ts: The "paths\[1\]" argument must be of type string\. Received undefined\. Every slot imports the job module and runs its top-level code, .*keep such code in the entry module that starts the job, and pass what the job needs as its args \(see "Job modules": https:\/\/github\.com\/tributary-dev\/tributary\/blob\/main\/docs\/concepts\.md#job-modules\)/,
    );
  });

  it('a job module that starts its job at its top level fails the job, instead of starting slots without end', async () => {
    const error = await failureOf(selfStarting.execute({}));
    expect((error as Error).message).toMatch(
      /Slot [01] cannot load the job module file:\/\/.*selfStarting\.job\.ts: Job 'Tributary job' was started in a task slot's thread, which imported the job module .*: the module starts a job when it is imported\. Start jobs from an entry module of their own/,
    );
    // Not a missing loader, nor another top-level failure: no advice about either.
    expect((error as Error).message).not.toContain('TypeScript loader');
    expect((error as Error).message).not.toContain('Every slot imports');
  });

  it('a build() that throws only in a slot fails the job naming the job, the slot and build()', async () => {
    const error = await failureOf(buildsOnlyOnMain.execute({}, { jobName: 'keys' }));
    expect((error as Error).message).toMatch(/Job 'keys': build\(\) threw in slot [01]: no API key in this thread/);
  });

  it('a graph that differs between threads fails the job naming the first difference', async () => {
    const error = await failureOf(randomGraph.executeAndCollect({ n: 10, parallelism: 2 }));
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toMatch(
      /^Job 'collect': slot [01] built a different graph than the main thread, first at operators\[1\]\.id: the main thread has "map 0\.\d+-\w+", slot [01] has "map 0\.\d+-\w+"\. build\(\) must build the same graph in every thread/,
    );
  });
});
