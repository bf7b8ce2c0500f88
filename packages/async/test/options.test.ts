import { describe, expect, it } from 'vitest';
import { InvalidJobError, ManualClock, OutputTag, StreamExecutionEnvironment, type DataStream } from '@tributary/core';
import { AsyncDataStream, asyncBatchOperatorFactory, asyncWaitOperatorFactory, RetryStrategies, type DeadLetter } from '../src/index.js';

/**
 * Every public entry point of @tributary/async with bad options: each row
 * must fail at build time with an InvalidJobError whose message holds
 * `error`. Add a row for every new option. (validation.test.ts holds the
 * value checks of the batch options one by one.)
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const batchFn = (xs: readonly number[]): Promise<number[]> => Promise.resolve([...xs]);
const recordFn = (x: number): Promise<number> => Promise.resolve(x);
const stream = (): DataStream<number> => StreamExecutionEnvironment.create({ clock: new ManualClock() }).fromElements(1, 2, 3);
const unorderedWaitBatch = (options: unknown) => () => AsyncDataStream.unorderedWaitBatch(stream(), batchFn, options as never);
const unorderedWait = (options: unknown) => () => AsyncDataStream.unorderedWait(stream(), recordFn, options as never);

const cases: readonly BadInput[] = [
  // the batch operators
  ['unorderedWaitBatch: misspelled key', unorderedWaitBatch({ maxBatchSize: 2, maxBatchsize: 3 }), "unorderedWaitBatch() ('UnorderedWaitBatch'): unknown option 'maxBatchsize'; did you mean 'maxBatchSize'?"],
  ['unorderedWaitBatch: misspelled key (one letter)', unorderedWaitBatch({ maxBatchSize: 2, capacty: 8 }), "did you mean 'capacity'?"],
  ['unorderedWaitBatch: no options', () => AsyncDataStream.unorderedWaitBatch(stream(), batchFn, undefined as never), "unorderedWaitBatch() ('UnorderedWaitBatch'): needs an options object"],
  ['unorderedWaitBatch: options a number', unorderedWaitBatch(8), 'needs an options object'],
  ['unorderedWaitBatch: maxBatchSize overflow', unorderedWaitBatch({ maxBatchSize: 2 ** 60 }), "option 'maxBatchSize' must be an integer <= 9007199254740991"],
  ['unorderedWaitBatch: maxBatchSize NaN', unorderedWaitBatch({ maxBatchSize: Number.NaN }), "option 'maxBatchSize' must be an integer >= 1, got NaN"],
  ['unorderedWaitBatch: maxInFlightBatches 1.5', unorderedWaitBatch({ maxBatchSize: 2, maxInFlightBatches: 1.5 }), "option 'maxInFlightBatches' must be an integer >= 1, got 1.5"],
  ['unorderedWaitBatch: capacity overflow', unorderedWaitBatch({ maxBatchSize: 2, capacity: Number.MAX_VALUE }), "option 'capacity' must be an integer <= 9007199254740991"],
  ['unorderedWaitBatch: maxBatchWeight Infinity', unorderedWaitBatch({ maxBatchSize: 2, maxBatchWeight: Number.POSITIVE_INFINITY, weigher: () => 1 }), "option 'maxBatchWeight' must be a finite number > 0, got Infinity"],
  ['unorderedWaitBatch: maxBatchWeight a string', unorderedWaitBatch({ maxBatchSize: 2, maxBatchWeight: '100', weigher: () => 1 }), "option 'maxBatchWeight' must be a finite number > 0, got '100'"],
  ['unorderedWaitBatch: rateLimit misspelled', unorderedWaitBatch({ maxBatchSize: 2, rateLimit: { requestPerSecond: 5 } }), "unknown option 'rateLimit.requestPerSecond'; did you mean 'rateLimit.requestsPerSecond'?"],
  ['unorderedWaitBatch: rateLimit NaN', unorderedWaitBatch({ maxBatchSize: 2, rateLimit: { itemsPerSecond: Number.NaN } }), "option 'rateLimit.itemsPerSecond' must be a finite number > 0, got NaN"],
  ['unorderedWaitBatch: rateLimit a number', unorderedWaitBatch({ maxBatchSize: 2, rateLimit: 5 }), "option 'rateLimit' must be an object, got 5"],
  ['unorderedWaitBatch: onFailure misspelled', unorderedWaitBatch({ maxBatchSize: 2, onFailure: { deadletter: new OutputTag('d') } }), "unknown option 'onFailure.deadletter'; did you mean 'onFailure.deadLetter'?"],
  ['unorderedWaitBatch: onFailure both', unorderedWaitBatch({ maxBatchSize: 2, onFailure: { deadLetter: new OutputTag('d'), fallback: () => [] } }), "option 'onFailure' must be 'fail', { deadLetter: OutputTag } or { fallback: (input, error) => outputs }"],
  ['unorderedWaitBatch: retry maxAttempts overflow', unorderedWaitBatch({ maxBatchSize: 2, retry: { ...RetryStrategies.none(), maxAttempts: 1e300 } }), "option 'retry.maxAttempts' must be an integer <= 9007199254740991"],
  ['unorderedWaitBatch: resultMode per_item', unorderedWaitBatch({ maxBatchSize: 2, resultMode: 'per_item' }), "option 'resultMode' must be 'collect' or 'per-item', got 'per_item'"],
  ['orderedWaitBatch: misspelled key', () => AsyncDataStream.orderedWaitBatch(stream(), batchFn, { maxBatchSize: 2, splitOnFaillure: true } as never), "orderedWaitBatch() ('OrderedWaitBatch'): unknown option 'splitOnFaillure'; did you mean 'splitOnFailure'?"],
  ['waitBatch: misspelled ordering key', () => AsyncDataStream.waitBatch(stream(), batchFn, { maxBatchSize: 2, odering: 'ordered' } as never), "waitBatch() ('UnorderedWaitBatch'): unknown option 'odering'; did you mean 'ordering'?"],
  ['waitBatch: key_ordered', () => AsyncDataStream.waitBatch(stream(), batchFn, { maxBatchSize: 2, ordering: 'key_ordered' as never }), "option 'ordering' must be 'unordered', 'ordered' or 'key-ordered', got 'key_ordered'"],
  // Names of Object.prototype's members are no orderings either: the operator's name is looked up among the three.
  ['waitBatch: ordering constructor', () => AsyncDataStream.waitBatch(stream(), batchFn, { maxBatchSize: 2, ordering: 'constructor' as never }), "waitBatch() ('UnorderedWaitBatch'): option 'ordering' must be 'unordered', 'ordered' or 'key-ordered', got 'constructor'"],
  ['waitBatch: ordering __proto__', () => AsyncDataStream.waitBatch(stream(), batchFn, { maxBatchSize: 2, ordering: '__proto__' as never }), "waitBatch() ('UnorderedWaitBatch'): option 'ordering' must be 'unordered', 'ordered' or 'key-ordered', got '__proto__'"],
  // the per-record operators
  ['unorderedWait: misspelled key', unorderedWait({ timout: 5 }), "unorderedWait() ('UnorderedWait'): unknown option 'timout'; did you mean 'timeout'?"],
  ['unorderedWait: options not an object', unorderedWait('fast'), "unorderedWait() ('UnorderedWait'): needs an options object"],
  // An array is an object to typeof: it was taken, and the first option read from it blamed.
  ['unorderedWait: options an array', unorderedWait([]), "unorderedWait() ('UnorderedWait'): needs an options object, got an array"],
  ['unorderedWaitBatch: options an array', unorderedWaitBatch([]), "unorderedWaitBatch() ('UnorderedWaitBatch'): needs an options object, got an array"],
  ['unorderedWait: capacity 0.5', unorderedWait({ capacity: 0.5 }), "option 'capacity' must be an integer >= 1, got 0.5"],
  ['unorderedWait: capacity overflow', unorderedWait({ capacity: 2 ** 53 }), "option 'capacity' must be an integer <= 9007199254740991"],
  ['orderedWait: misspelled key', () => AsyncDataStream.orderedWait(stream(), recordFn, { attemptTimeOut: 5 } as never), "orderedWait() ('OrderedWait'): unknown option 'attemptTimeOut'; did you mean 'attemptTimeout'?"],
  ['orderedWait: rateLimit misspelled', () => AsyncDataStream.orderedWait(stream(), recordFn, { rateLimit: { itemPerSecond: 1 } } as never), "did you mean 'rateLimit.itemsPerSecond'?"],
  // the operator factories
  ['asyncBatchOperatorFactory: ordering toString', () => asyncBatchOperatorFactory(batchFn, { maxBatchSize: 2, ordering: 'toString' as never }), "asyncBatchOperatorFactory() ('WaitBatch'): option 'ordering' must be 'unordered', 'ordered' or 'key-ordered', got 'toString'"],
  ['asyncBatchOperatorFactory: misspelled key', () => asyncBatchOperatorFactory(batchFn, { maxBatchSize: 2, batchkey: () => 1 } as never), "asyncBatchOperatorFactory() ('UnorderedWaitBatch'): unknown option 'batchkey'; did you mean 'batchKey'?"],
  ['asyncWaitOperatorFactory: no options object', () => asyncWaitOperatorFactory(recordFn, null as never), 'asyncWaitOperatorFactory(): needs an options object'],
  ['asyncWaitOperatorFactory: unknown ordering', () => asyncWaitOperatorFactory(recordFn, { ordering: 'key-ordered' as never }), "asyncWaitOperatorFactory(): option 'ordering' must be 'unordered' or 'ordered', got 'key-ordered'"],
  ['asyncWaitOperatorFactory: misspelled key', () => asyncWaitOperatorFactory(recordFn, { capacityy: 2 } as never), "unknown option 'capacityy'; did you mean 'capacity'?"],
  // RetryStrategies
  ['fixedDelay: misspelled key', () => RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 10, retryOnErorr: () => true } as never), "RetryStrategies.fixedDelay(): unknown option 'retryOnErorr'; did you mean 'retryOnError'?"],
  ['fixedDelay: no options', () => RetryStrategies.fixedDelay(undefined as never), 'RetryStrategies.fixedDelay(): needs an options object'],
  ['fixedDelay: maxAttempts overflow', () => RetryStrategies.fixedDelay({ maxAttempts: 2 ** 53, delayMs: 1 }), "option 'maxAttempts' must be an integer <= 9007199254740991"],
  ['exponentialBackoff: misspelled key', () => RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 9, jiter: 0.5 } as never), "RetryStrategies.exponentialBackoff(): unknown option 'jiter'; did you mean 'jitter'?"],
  ['exponentialBackoff: jitter a string', () => RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 9, jitter: '0.5' as never }), "option 'jitter' must be a finite number in [0, 1], got '0.5'"],
  ['exponentialBackoff: jitter NaN', () => RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 9, jitter: Number.NaN }), "option 'jitter' must be a finite number in [0, 1], got NaN"],
  ['exponentialBackoff: multiplier Infinity', () => RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 9, multiplier: Number.POSITIVE_INFINITY }), "option 'multiplier' must be a finite number >= 1, got Infinity"],
  ['exponentialBackoff: seed and random', () => RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 9, seed: 42, random: Math.random }), "options 'random' and 'seed' both choose the jitter's numbers: give one"],
  ['exponentialBackoff: seed a string', () => RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 9, seed: '42' as never }), "option 'seed' must be a finite number, got '42'"],
];

describe('options are checked at build time', () => {
  it.each(cases)('%s', (_title, build, error) => {
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(error);
  });
});

describe('a dead-letter side output must be read', () => {
  const dead = new OutputTag<DeadLetter<number>>('dead-letters');
  const failing = (xs: readonly number[]): Promise<(number | Error)[]> => Promise.resolve(xs.map((x) => (x % 2 === 0 ? x : new Error(`odd ${x}`))));

  it('fails the build naming the operator when no getSideOutput reads the dead letters', () => {
    const env = StreamExecutionEnvironment.create();
    AsyncDataStream.unorderedWaitBatch(env.fromElements(1, 2, 3, 4), failing, { maxBatchSize: 2, resultMode: 'per-item', onFailure: { deadLetter: dead } })
      .uid('enrich')
      .print();
    const build = (): unknown => env.executeAsync('job');
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow("Operator 'UnorderedWaitBatch' (uid 'enrich') sends records that must not be lost (dead letters) to the side output 'dead-letters', but nothing reads it");
  });

  it('fails the build for the per-record operators too', () => {
    const env = StreamExecutionEnvironment.create();
    AsyncDataStream.orderedWait(env.fromElements(1), recordFn, { onFailure: { deadLetter: dead } }).print();
    expect(() => env.executeAsync('job')).toThrow("Operator 'OrderedWait' sends records that must not be lost (dead letters) to the side output 'dead-letters'");
  });

  it('delivers every failed record to the reader when one is there', async () => {
    const env = StreamExecutionEnvironment.create();
    const enriched = AsyncDataStream.unorderedWaitBatch(env.fromElements(1, 2, 3, 4), failing, {
      maxBatchSize: 2,
      resultMode: 'per-item',
      onFailure: { deadLetter: dead },
    });
    const letters: number[] = [];
    enriched.getSideOutput(dead).addSink((letter) => {
      letters.push(letter.input);
    });
    expect((await enriched.executeAndCollect()).sort()).toEqual([2, 4]);
    expect(letters.sort()).toEqual([1, 3]);
  });
});
