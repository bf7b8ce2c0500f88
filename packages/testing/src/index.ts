/**
 * @tributary/testing: test Tributary operators and jobs deterministically,
 * without real sleeps or real services.
 *
 * - Operator harnesses after Flink's: {@link OneInputOperatorHarness},
 *   {@link KeyedOneInputOperatorHarness}.
 * - {@link FakeBatchService}: a scripted batch endpoint with a latency
 *   model, a concurrency limit, failures, hangs, throttling and a call log.
 * - Job-level runs under a `ManualClock`: {@link runJobToCompletion},
 *   {@link collect}.
 *
 * Nothing here imports a test framework: it works from vitest, `node:test`
 * or any other runner. vitest assertions live in `@tributary/testing/vitest`.
 * @packageDocumentation
 */
export { ManualClock, SystemClock, drain, type Clock } from '@tributary/core';

export { OperatorHarness, type HarnessOptions, type TimedRecord } from './harness/OperatorHarness.js';
export { OneInputOperatorHarness } from './harness/OneInputOperatorHarness.js';
export { KeyedOneInputOperatorHarness } from './harness/KeyedOneInputOperatorHarness.js';
export { feedMarbles, toMarbles, type FeedMarblesOptions, type ToMarblesOptions } from './harness/marbles.js';

export {
  FakeBatchService,
  type FakeBatchServiceOptions,
  type CallOptions,
  type CallOutcome,
  type CallRecord,
  type LatencyModel,
} from './service/FakeBatchService.js';
export { FakeServiceError, FakeThrottledError, AbortError, type FakeFailureReason } from './service/errors.js';

export { runJobToCompletion, collect, type RunJobOptions } from './job/runJobToCompletion.js';
