// How to test a whole job: build its graph on an environment with a
// ManualClock (that needs the single-thread runtime: task slots keep time by
// the system clock), collect the streams to check, and let
// runJobToCompletion move the clock from timer to timer until the job ends.
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '@tributary/core';
import { ManualClock, collect, runJobToCompletion } from '@tributary/testing';
import { unresolved } from '../src/geocode.js';
import { geocodeJob, geocodeRequests } from '../src/job.js';
import { KNOWN, fakeGeocoder } from './fakeGeocoder.js';

const requests = [
  { id: 'r1', payload: '10 Downing Street, London' },
  { id: 'r2', payload: '1 Nowhere Lane, Atlantis' },
  { id: 'r1', payload: '10 Downing Street, London' }, // a repeat: dropped
  { id: 'r3', payload: 'Unter den Linden 1, Berlin' },
];

describe('a job that drops repeated requests and geocodes the rest', () => {
  it('runs end to end under a manual clock', async () => {
    const clock = new ManualClock(0);
    const { service, client } = fakeGeocoder(clock);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 });

    const placed = geocodeRequests(env.fromElements(...requests), client);
    const output = collect(placed);
    const failed = collect(placed.getSideOutput(unresolved));

    const result = await runJobToCompletion(env.executeAsync('geocode requests'), clock);

    expect(result.status).toBe('finished');
    expect(output.map((g) => g.address).sort()).toEqual(['10 Downing Street, London', 'Unter den Linden 1, Berlin']);
    expect(output.find((g) => g.address.includes('Berlin'))).toMatchObject(KNOWN['Unter den Linden 1, Berlin']!);
    expect(failed.map((d) => d.input)).toEqual(['1 Nowhere Lane, Atlantis']);
    // Three addresses went out (the repeat never reached the service), the unknown one twice more.
    expect(service.calls.flatMap((c) => c.inputs).length).toBe(5);
  });

  it('runs as a job module in two task slots, on the real clock', { timeout: 30_000 }, async () => {
    // The same graph, built in each slot from plain data; the retries of the unknown address take 200 ms of real time.
    const outcomes = await geocodeJob.executeAndCollect({ requests, places: KNOWN });
    expect(outcomes.sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: '1 Nowhere Lane, Atlantis', unresolved: 'Error: unknown address: 1 Nowhere Lane, Atlantis' },
      { address: '10 Downing Street, London', placed: KNOWN['10 Downing Street, London'] },
      { address: 'Unter den Linden 1, Berlin', placed: KNOWN['Unter den Linden 1, Berlin'] },
    ]);
  });
});
