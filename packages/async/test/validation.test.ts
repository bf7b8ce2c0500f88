import { describe, expect, it } from 'vitest';
import { InvalidJobError, OutputTag, StreamExecutionEnvironment } from '@tributary/core';
import { AsyncDataStream, RetryStrategies } from '../src/index.js';
import { batchHarness, metric } from './helpers.js';

const fn = (xs: readonly number[]): Promise<number[]> => Promise.resolve([...xs]);
const where = "unorderedWaitBatch() ('UnorderedWaitBatch')";

describe('build-time validation', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['maxBatchSize missing', {}, "option 'maxBatchSize' must be an integer >= 1, got undefined"],
    ['maxBatchSize 0', { maxBatchSize: 0 }, "option 'maxBatchSize' must be an integer >= 1, got 0"],
    ['maxBatchSize fractional', { maxBatchSize: 2.5 }, "option 'maxBatchSize' must be an integer >= 1, got 2.5"],
    ['maxBatchDelay negative', { maxBatchSize: 2, maxBatchDelay: -1 }, "option 'maxBatchDelay' must be a finite number of milliseconds >= 0, got -1"],
    ['maxBatchDelay infinite', { maxBatchSize: 2, maxBatchDelay: Infinity }, "option 'maxBatchDelay' must be a finite number of milliseconds >= 0, got Infinity (0, or leaving it out, flushes on size and end of input only)"],
    ['weight without weigher', { maxBatchSize: 2, maxBatchWeight: 10 }, "options 'maxBatchWeight' and 'weigher' go together: set both or neither"],
    ['weigher without weight', { maxBatchSize: 2, weigher: () => 1 }, "options 'maxBatchWeight' and 'weigher' go together: set both or neither"],
    ['weight 0', { maxBatchSize: 2, maxBatchWeight: 0, weigher: () => 1 }, "option 'maxBatchWeight' must be a finite number > 0, got 0"],
    ['weigher not a function', { maxBatchSize: 2, maxBatchWeight: 5, weigher: 3 }, "option 'weigher' must be a function, got 3"],
    ['batchKey not a function', { maxBatchSize: 2, batchKey: 'model' }, "option 'batchKey' must be a function, got 'model'"],
    ['maxInFlightBatches 0', { maxBatchSize: 2, maxInFlightBatches: 0 }, "option 'maxInFlightBatches' must be an integer >= 1, got 0"],
    ['capacity 0', { maxBatchSize: 2, capacity: 0 }, "option 'capacity' must be an integer >= 1, got 0"],
    ['capacity null', { maxBatchSize: 2, capacity: null }, "option 'capacity' must be an integer >= 1, got null"],
    ['capacity below batch size', { maxBatchSize: 8, capacity: 4 }, "option 'capacity' (4) must be >= maxBatchSize (8), or no batch could ever fill"],
    ['timeout 0', { maxBatchSize: 2, timeout: 0 }, "option 'timeout' must be a finite number of milliseconds > 0, got 0"],
    ['deadline NaN', { maxBatchSize: 2, deadline: Number.NaN }, "option 'deadline' must be a finite number of milliseconds > 0, got NaN"],
    ['retry not a strategy', { maxBatchSize: 2, retry: { maxAttempts: 3 } }, "option 'retry' must be a RetryStrategy (use RetryStrategies.none(), fixedDelay() or exponentialBackoff())"],
    ['resultMode', { maxBatchSize: 2, resultMode: 'each' }, "option 'resultMode' must be 'collect' or 'per-item', got 'each'"],
    ['onFailure string', { maxBatchSize: 2, onFailure: 'ignore' }, "option 'onFailure' must be 'fail', { deadLetter: OutputTag } or { fallback: (input, error) => outputs }, got 'ignore'"],
    ['onFailure bad tag', { maxBatchSize: 2, onFailure: { deadLetter: 'dead' } }, "option 'onFailure' must be 'fail', { deadLetter: OutputTag } or { fallback: (input, error) => outputs }, got an object"],
    ['splitOnFailure', { maxBatchSize: 2, splitOnFailure: 'yes' }, "option 'splitOnFailure' must be true or false, got 'yes'"],
    ['rateLimit empty', { maxBatchSize: 2, rateLimit: {} }, "option 'rateLimit' needs requestsPerSecond or itemsPerSecond"],
    ['rateLimit negative', { maxBatchSize: 2, rateLimit: { requestsPerSecond: -1 } }, "option 'rateLimit.requestsPerSecond' must be a finite number > 0, got -1"],
    ['rateLimit unknown field', { maxBatchSize: 2, rateLimit: { rps: 5 } }, "unknown option 'rateLimit.rps' (known in 'rateLimit': requestsPerSecond, itemsPerSecond)"],
    ['orderKey without key-ordered', { maxBatchSize: 2, orderKey: (x: number) => x }, "option 'orderKey' only applies to ordering 'key-ordered'"],
    ['ordering is fixed by the method', { maxBatchSize: 2, ordering: 'ordered' }, "unknown option 'ordering'"],
    ['typo', { maxBatchSize: 2, maxBatchTimeout: 5 }, "unknown option 'maxBatchTimeout'"],
  ];

  it.each(cases)('%s', (_, options, message) => {
    const env = StreamExecutionEnvironment.create();
    const stream = env.fromElements(1, 2, 3);
    const build = (): unknown => AsyncDataStream.unorderedWaitBatch(stream, fn, options as never);
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(`${where}: ${message}`);
  });

  it('throws before adding anything to the job', async () => {
    const env = StreamExecutionEnvironment.create();
    const stream = env.fromElements(1, 2, 3);
    expect(() => AsyncDataStream.unorderedWaitBatch(stream, fn, { maxBatchSize: 0 })).toThrow(InvalidJobError);
    const out = await stream.map((x) => x + 1).executeAndCollect();
    expect(out).toEqual([2, 3, 4]);
  });

  it('caps the default capacity at 2^53 - 1 instead of blaming capacity, an option the user never set', async () => {
    const stream = StreamExecutionEnvironment.create().fromElements(1, 2, 3);
    // 2 * maxBatchSize * maxInFlightBatches is past Number.MAX_SAFE_INTEGER in both.
    expect(() => AsyncDataStream.unorderedWaitBatch(stream, fn, { maxBatchSize: 2 ** 52, maxInFlightBatches: 4 })).not.toThrow();
    expect(() => AsyncDataStream.unorderedWaitBatch(stream, fn, { maxBatchSize: 2 ** 52 })).not.toThrow();
    const harness = batchHarness<number, number>(fn, { maxBatchSize: 2 ** 52, maxInFlightBatches: 4 });
    await harness.open();
    expect(metric(harness, 'capacity')).toBe(Number.MAX_SAFE_INTEGER);
    harness.processElements([1, 2, 3]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([1, 2, 3]);
  });

  it('checks the function', () => {
    const stream = StreamExecutionEnvironment.create().fromElements(1);
    expect(() => AsyncDataStream.orderedWaitBatch(stream, {} as never, { maxBatchSize: 2 })).toThrow(
      "orderedWaitBatch() ('OrderedWaitBatch'): needs a batch function: an async function (inputs, ctx) => outputs, or an object with asyncInvokeBatch(inputs, resultFuture), or a perSubtask() factory of one",
    );
    expect(() => AsyncDataStream.unorderedWaitBatch(stream, { asyncInvokeBatch: () => undefined, timeout: 5 } as never, { maxBatchSize: 2 })).toThrow(
      `${where}: the function's 'timeout' must be a method, got 5`,
    );
    expect(() => AsyncDataStream.unorderedWait(stream, null as never)).toThrow(
      "unorderedWait() ('UnorderedWait'): needs an async function (input, ctx) => output, or an object with asyncInvoke(input, resultFuture), or a perSubtask() factory of one",
    );
  });

  it('key-ordered needs a keyed stream or orderKey', () => {
    const env = StreamExecutionEnvironment.create();
    const stream = env.fromElements('a', 'b');
    expect(() => AsyncDataStream.waitBatch(stream, (xs) => Promise.resolve(xs), { maxBatchSize: 2, ordering: 'key-ordered' })).toThrow(
      "waitBatch() ('KeyOrderedWaitBatch'): ordering 'key-ordered' needs a KeyedStream (keyBy() first) or the option 'orderKey'",
    );
    expect(() =>
      AsyncDataStream.waitBatch(stream.keyBy((s) => s), (xs) => Promise.resolve(xs), { maxBatchSize: 2, ordering: 'key-ordered', resultMode: 'per-item' }),
    ).not.toThrow();
    expect(() =>
      AsyncDataStream.waitBatch(stream, (xs) => Promise.resolve(xs), { maxBatchSize: 2, ordering: 'key-ordered', resultMode: 'per-item', orderKey: (s) => s }),
    ).not.toThrow();
    expect(() => AsyncDataStream.waitBatch(stream.keyBy((s) => s), (xs) => Promise.resolve(xs), { maxBatchSize: 2, ordering: 'key-ordered' })).toThrow(
      "waitBatch() ('KeyOrderedWaitBatch'): ordering 'key-ordered' needs resultMode 'per-item' (one output per input): in 'collect' mode a batch's outputs belong to no single key",
    );
    // On a keyed stream its key orders: a second key was taken silently, and the docs said the other.
    expect(() =>
      AsyncDataStream.waitBatch(stream.keyBy((s) => s), (xs) => Promise.resolve(xs), { maxBatchSize: 2, ordering: 'key-ordered', resultMode: 'per-item', orderKey: (s) => s }),
    ).toThrow("waitBatch() ('KeyOrderedWaitBatch'): option 'orderKey' is for a stream that is not keyed: after keyBy() the stream's key orders the records; leave the option out");
    expect(() => AsyncDataStream.waitBatch(stream, (xs) => Promise.resolve(xs), { maxBatchSize: 2, ordering: 'sorted' as never })).toThrow(
      "waitBatch() ('UnorderedWaitBatch'): option 'ordering' must be 'unordered', 'ordered' or 'key-ordered', got 'sorted'",
    );
  });

  it('checks the per-record options', () => {
    const stream = StreamExecutionEnvironment.create().fromElements(1);
    expect(() => AsyncDataStream.orderedWait(stream, (x: number) => Promise.resolve(x), { capacity: -1 })).toThrow(
      "orderedWait() ('OrderedWait'): option 'capacity' must be an integer >= 1, got -1",
    );
    expect(() => AsyncDataStream.unorderedWait(stream, (x: number) => Promise.resolve(x), { timeout: -5 })).toThrow(
      "unorderedWait() ('UnorderedWait'): option 'timeout' must be a finite number of milliseconds > 0, got -5",
    );
    expect(() => AsyncDataStream.unorderedWait(stream, (x: number) => Promise.resolve(x), { maxBatchSize: 3 } as never)).toThrow("unknown option 'maxBatchSize'");
  });

  it('retry strategies check their own options', () => {
    expect(() => RetryStrategies.fixedDelay({ maxAttempts: 0, delayMs: 5 })).toThrow(
      "RetryStrategies.fixedDelay(): option 'maxAttempts' (attempts in total, the first included) must be an integer >= 1, got 0",
    );
    expect(() => RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: -5 })).toThrow("RetryStrategies.fixedDelay(): option 'delayMs' must be a finite number of milliseconds >= 0, got -5");
    expect(() => RetryStrategies.exponentialBackoff({ maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 10 })).toThrow(
      "RetryStrategies.exponentialBackoff(): option 'maxDelayMs' (10) must be >= initialDelayMs (100)",
    );
    expect(() => RetryStrategies.exponentialBackoff({ maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 10, jitter: 2 })).toThrow(
      "RetryStrategies.exponentialBackoff(): option 'jitter' must be a finite number in [0, 1], got 2",
    );
    expect(() => RetryStrategies.exponentialBackoff({ maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 10, multiplier: 0.5 })).toThrow(
      "RetryStrategies.exponentialBackoff(): option 'multiplier' must be a finite number >= 1, got 0.5",
    );
  });

  it('accepts a dead-letter tag and every option together', () => {
    const stream = StreamExecutionEnvironment.create().fromElements(1);
    expect(() =>
      AsyncDataStream.unorderedWaitBatch(stream, fn, {
        maxBatchSize: 4,
        maxBatchDelay: 5,
        maxBatchWeight: 10,
        weigher: () => 1,
        batchKey: (x) => x % 2,
        maxInFlightBatches: 2,
        capacity: 16,
        timeout: 100,
        deadline: 1_000,
        retry: RetryStrategies.none(),
        onFailure: { deadLetter: new OutputTag('dead') },
        splitOnFailure: true,
        rateLimit: { requestsPerSecond: 10, itemsPerSecond: 100 },
      }),
    ).not.toThrow();
  });
});
