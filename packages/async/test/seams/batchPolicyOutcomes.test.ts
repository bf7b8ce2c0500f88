import { ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { BatchAccumulator } from '../../src/batching/BatchAccumulator.js';
import type { BatchPolicy, CallOutcome } from '../../src/batching/BatchPolicy.js';
import { ThrottledError, type WaitBatchOptions } from '../../src/index.js';
import { resolveBatchConfig } from '../../src/internal/config.js';
import { AsyncBatchWaitOperator, type BatchPolicyFactory } from '../../src/operators/AsyncBatchWaitOperator.js';
import { ControlledCalls } from '../helpers.js';

/** Today's policy, recording every outcome the operator hands it. */
function recording(outcomes: CallOutcome[]): BatchPolicyFactory<number, number> {
  return (owner, queue, ctx, config): BatchPolicy<number> => {
    const policy = new BatchAccumulator(config, ctx.processingTimeService, queue.tagger, owner);
    policy.observe = (outcome: CallOutcome): void => {
      outcomes.push(outcome);
    };
    return policy;
  };
}

function harnessWith(calls: ControlledCalls<number, number>, options: WaitBatchOptions<number, number>, outcomes: CallOutcome[], clock: ManualClock) {
  const config = resolveBatchConfig<number, number>('test', undefined, calls.fn, options, 'unordered', true);
  return new OneInputOperatorHarness<number, number>((ctx) => new AsyncBatchWaitOperator(ctx, config, recording(outcomes)), { clock, name: 'embed' });
}

const base: WaitBatchOptions<number, number> = { maxBatchSize: 2, weigher: (x) => x, maxBatchWeight: 100 };

describe('BatchPolicy: the operator reports each call\'s outcome', () => {
  const cases: { name: string; options?: Partial<WaitBatchOptions<number, number>>; end: (call: ControlledCalls<number, number>['calls'][number]) => void; outcome: CallOutcome }[] = [
    { name: 'a success', end: (c) => c.resolve([1, 2]), outcome: { size: 2, weight: 7, startedAt: 0, durationMs: 30, throttled: false, failed: false } },
    {
      name: 'a failure',
      options: { onFailure: { fallback: () => [] } },
      end: (c) => c.reject(new Error('down')),
      outcome: { size: 2, weight: 7, startedAt: 0, durationMs: 30, throttled: false, failed: true },
    },
    {
      name: 'a throttled call',
      options: { onFailure: { fallback: () => [] } },
      end: (c) => c.reject(new ThrottledError('slow down', 10)),
      outcome: { size: 2, weight: 7, startedAt: 0, durationMs: 30, throttled: true, failed: true },
    },
  ];
  it.each(cases)('$name', async ({ options, end, outcome }) => {
    const clock = new ManualClock(0);
    const calls = new ControlledCalls<number, number>();
    const outcomes: CallOutcome[] = [];
    const harness = harnessWith(calls, { ...base, ...options }, outcomes, clock);
    await harness.open();
    harness.processElements([3, 4]);
    await harness.setProcessingTime(30);
    expect(outcomes).toEqual([]);
    end(calls.call(0));
    await harness.drain();
    expect(outcomes).toEqual([outcome]);
  });

  it('a call cut by its timeout is an outcome too, failed, lasting the timeout', async () => {
    const clock = new ManualClock(0);
    const calls = new ControlledCalls<number, number>();
    const outcomes: CallOutcome[] = [];
    const harness = harnessWith(calls, { ...base, timeout: 50, onFailure: { fallback: () => [] } }, outcomes, clock);
    await harness.open();
    harness.processElements([3, 4]);
    await harness.setProcessingTime(50);
    expect(outcomes).toEqual([{ size: 2, weight: 7, startedAt: 0, durationMs: 50, throttled: false, failed: true }]);
  });
});
