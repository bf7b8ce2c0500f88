import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/index.js';
import { until } from '../support/gatedSource.js';
import { hungStores, squares, storeNever } from './fixtures/jobs.job.js';

/** Ref'd timers of this process: each holds it alive. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('cancel() in slots', { timeout: 30_000 }, () => {
  it('ends the job while a checkpoint store() never settles, and says what it abandoned', async () => {
    const client = storeNever.executeAsync({ n: 0, parallelism: 2, closeTimeoutMs: 50 }, { jobName: 'store never' });
    const events: JobEvent[] = [];
    client.onEvent((event) => events.push(event));
    await until(() => hungStores.started > 0, 'a checkpoint store to start');
    client.cancel();
    expect((await client.result).status).toBe('cancelled');
    expect(events.filter((e) => e.fields.event === 'checkpoint.abandoned').map((e) => e.fields.call)).toEqual(['store() of checkpoint 1']);
  });

  it('after the job finished does nothing, and leaves no timer holding the process', async () => {
    const client = squares.executeAsync({ n: 100, parallelism: 2, discard: true }, { jobName: 'finished' });
    expect((await client.result).status).toBe('finished');
    const before = timers();
    client.cancel();
    // Before, the slots' terminate timer was set (closeTimeoutMs + 1 s) with no slot left to clear it.
    expect(timers()).toBe(before);
    expect(client.status).toBe('finished');
  });
});
