import { describe, expect, it } from 'vitest';
import { squares } from './fixtures/jobs.job.js';

/** Ref'd timers of this process: each holds it alive. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('cancel() in slots', { timeout: 30_000 }, () => {
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
