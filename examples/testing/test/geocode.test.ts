// How to test a batch function, first on its own and then inside the async
// batch operator, against a simulated service on a manual clock.
import { describe, expect, it } from 'vitest';
import { asyncBatchOperatorFactory } from '@tributary/async';
import { ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import { expectBatches, expectNoEmptyBatches } from '@tributary/testing/vitest';
import { geocodeBatch, geocodeOptions, unresolved, type Geocoded } from '../src/geocode.js';
import { KNOWN, fakeGeocoder } from './fakeGeocoder.js';

const GENEVA = '1 Quai du Mont-Blanc, Geneva';
const DOWNING = '10 Downing Street, London';
const BAKER = '221B Baker Street, London';
const NOWHERE = '1 Nowhere Lane, Atlantis';

describe('geocodeBatch on its own', () => {
  it('makes one request per batch and pairs each address with its coordinates', async () => {
    const clock = new ManualClock(0);
    const { service, client } = fakeGeocoder(clock);

    const result = geocodeBatch(client)([GENEVA, DOWNING], { signal: new AbortController().signal, attempt: 1 });
    await clock.advance(12); // 10 ms + 1 ms per address: the fake answers on the test's clock

    await expect(result).resolves.toEqual([
      { address: GENEVA, ...KNOWN[GENEVA] },
      { address: DOWNING, ...KNOWN[DOWNING] },
    ]);
    expect(service.calls).toHaveLength(1);
  });

  it('turns an address the service cannot place into an Error for that address only', async () => {
    const clock = new ManualClock(0);
    const { client } = fakeGeocoder(clock);
    const result = geocodeBatch(client)([GENEVA, NOWHERE], { signal: new AbortController().signal, attempt: 1 });
    await clock.advance(12);
    const [placed, failed] = await result;
    expect(placed).toEqual({ address: GENEVA, ...KNOWN[GENEVA] });
    expect(failed).toBeInstanceOf(Error);
  });
});

describe('geocodeBatch inside the async batch operator (OneInputOperatorHarness)', () => {
  function harness(options: Parameters<typeof fakeGeocoder>[1] = {}) {
    const clock = new ManualClock(0);
    const { service, client } = fakeGeocoder(clock, options);
    // The same function and options as the job, as an operator a harness can drive.
    const operator = new OneInputOperatorHarness<string, Geocoded>(asyncBatchOperatorFactory(geocodeBatch(client), geocodeOptions), { clock });
    return { clock, service, operator };
  }

  it('waits maxBatchDelay for a partial batch, then sends it in one request', async () => {
    const { service, operator } = harness();
    await operator.open();

    operator.processElements([GENEVA, DOWNING]);
    await operator.setProcessingTime(19);
    expect(service.calls).toHaveLength(0); // still waiting for more addresses

    await operator.setProcessingTime(20); // maxBatchDelay is up: the batch goes
    await operator.setProcessingTime(32); // and is answered 10 + 2 ms later
    expect(operator.getOutput()).toEqual([
      { address: GENEVA, ...KNOWN[GENEVA] },
      { address: DOWNING, ...KNOWN[DOWNING] },
    ]);
    expectBatches(service, [[GENEVA, DOWNING]]);
  });

  it('retries only the address that failed, 100 ms later, and dead-letters it after the third attempt', async () => {
    const { service, operator } = harness();
    await operator.open();

    operator.processElements([GENEVA, NOWHERE, BAKER]);
    await operator.setProcessingTime(20); // maxBatchDelay is up: the batch goes
    await operator.setProcessingTime(33); // answered: two placed, one failed
    expect(operator.getOutput().map((g) => g.address)).toEqual([GENEVA, BAKER]);

    await operator.setProcessingTime(133); // the retry delay is up: NOWHERE goes again, alone
    await operator.setProcessingTime(244); // failed at 144, goes a third time at 244
    await operator.setProcessingTime(255); // and fails for good
    expectBatches(service, [[GENEVA, NOWHERE, BAKER], [NOWHERE], [NOWHERE]]);
    expect(service.calls.map((c) => c.queuedAt)).toEqual([20, 133, 244]);
    expect(operator.getSideOutput(unresolved)).toMatchObject([{ input: NOWHERE, attempts: 3 }]);

    await operator.endInput(); // nothing left: it resolves at once
    expectNoEmptyBatches(service);
  });

  it('waits as long as a throttled service asks before trying again', async () => {
    const { service, operator } = harness({ throttleCalls: [1], retryAfterMs: 500 });
    await operator.open();
    operator.processElement(GENEVA);
    await operator.setProcessingTime(20);
    await operator.endInput();

    expect(service.calls.map((c) => [c.outcome, c.queuedAt])).toEqual([
      ['throttled', 20],
      ['ok', 531], // 20 + 11 ms of service time + the 500 ms the service asked for
    ]);
    expect(operator.getOutput()).toEqual([{ address: GENEVA, ...KNOWN[GENEVA] }]);
  });
});
