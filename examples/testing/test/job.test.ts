// How to test a whole job: build it on an environment with a ManualClock,
// collect the streams to check, and let runJobToCompletion move the clock
// from timer to timer until the job ends.
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '@tributary/core';
import { ManualClock, collect, runJobToCompletion } from '@tributary/testing';
import { DropRepeats } from '../src/dedupe.js';
import { geocode, unresolved } from '../src/geocode.js';
import { KNOWN, fakeGeocoder } from './fakeGeocoder.js';

describe('a job that drops repeated requests and geocodes the rest', () => {
  it('runs end to end under a manual clock', async () => {
    const clock = new ManualClock(0);
    const { service, client } = fakeGeocoder(clock);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 });

    const requests = env.fromElements(
      { id: 'r1', payload: '10 Downing Street, London' },
      { id: 'r2', payload: '1 Nowhere Lane, Atlantis' },
      { id: 'r1', payload: '10 Downing Street, London' }, // a repeat: dropped
      { id: 'r3', payload: 'Unter den Linden 1, Berlin' },
    );
    const addresses = requests
      .keyBy((r) => r.id)
      .process(new DropRepeats(60_000))
      .map((r) => r.payload);
    const placed = geocode(addresses, client);
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
});
