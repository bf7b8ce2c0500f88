import { describe, expect, it } from 'vitest';
import { fanOut, logged, logging, squares } from './fixtures/jobs.job.js';

const RUNTIMES = ['single-thread', 'slots'] as const;
const byValue = (a: number, b: number) => a - b;

describe.each(RUNTIMES)('the same job, runtime %s', { timeout: 30_000 }, (runtime) => {
  it('collects every record of a parallel pipeline (executeAndCollect)', async () => {
    const rows = await squares.executeAndCollect({ n: 5000, parallelism: 3, runtime });
    expect(rows.sort(byValue)).toEqual(Array.from({ length: 5000 }, (_, i) => i * i));
  });

  it('collects the records with the job result (executeAndCollectWithResult)', async () => {
    const { records, result } = await squares.executeAndCollectWithResult({ n: 1000, parallelism: 2, runtime }, { jobName: 'with result' });
    expect(records.sort(byValue)).toEqual(Array.from({ length: 1000 }, (_, i) => i * i));
    expect(result).toMatchObject({ jobName: 'with result', status: 'finished', restarts: 0 });
    expect(result.operators.find((o) => o.name === 'Sink: Collect')).toMatchObject({ parallelism: 2, recordsIn: 1000 });
    expect(result.metrics['job.with result.operator.square.1.numRecordsOut']).toBe(500);
  });

  it('counts records in and out per operator and per subtask, under the same metric ids', async () => {
    const result = await squares.execute({ n: 1000, parallelism: 2, runtime, discard: true }, { jobName: 'counted' });
    expect(result.operators.map(({ name, parallelism, recordsIn, recordsOut }) => ({ name, parallelism, recordsIn, recordsOut }))).toEqual([
      { name: 'numbers', parallelism: 2, recordsIn: 0, recordsOut: 1000 },
      { name: 'square', parallelism: 2, recordsIn: 1000, recordsOut: 1000 },
      { name: 'discard', parallelism: 2, recordsIn: 1000, recordsOut: 0 },
    ]);
    // Subtask i reads i, i + 2, ...: 500 each.
    expect(result.metrics['job.counted.operator.square.0.numRecordsIn']).toBe(500);
    expect(result.metrics['job.counted.operator.square.1.numRecordsOut']).toBe(500);
    expect(result.metrics['job.counted.operator.numbers.1.numRecordsOut']).toBe(500);
    expect(typeof result.metrics['job.counted.operator.numbers.1.busyTimeMs']).toBe('number');
  });
});

describe('slots', { timeout: 30_000 }, () => {
  it('collect any number of records one action emits (400,000 here: more than spread arguments take)', async () => {
    const rows = await fanOut.executeAndCollect({ n: 2, each: 200_000, parallelism: 2, runtime: 'slots' });
    expect(rows.length).toBe(400_000);
    expect(rows.sort(byValue).every((v, i) => v === i)).toBe(true);
  });

  it("report their counters as final once every task of a slot has ended, so rates over them fall to 0 (the job view's)", async () => {
    const job = squares.executeAsync({ n: 1000, parallelism: 2, runtime: 'slots', discard: true });
    await job.result;
    const counters = [...job.metrics.entries()].flatMap(({ variables, metric }) => (variables.job_id === job.jobId && metric.kind === 'counter' ? [metric] : []));
    expect(counters.length).toBeGreaterThan(6);
    expect(counters.map((c) => c.sampledAt)).toEqual(counters.map(() => undefined));
  });

  it('send what user functions log to the main thread’s logger, with their fields', async () => {
    await logging.execute({ n: 10, parallelism: 2, runtime: 'slots' });
    const hellos = logged.filter((l) => l.fields.event === 'test.hello');
    expect(hellos.map((l) => [l.message, l.fields.subtask]).sort()).toEqual([
      ['hello from subtask 0', 0],
      ['hello from subtask 1', 1],
    ]);
    // The runtime's own events arrive too, with the job's fields.
    expect(logged.find((l) => l.fields.event === 'job.ended')?.fields.status).toBe('finished');
  });
});
