import { describe, expect, it } from 'vitest';
import {
  FileCheckpointStorage,
  FileSink,
  FileSource,
  Histogram,
  InvalidJobError,
  ManualClock,
  MetricRegistry,
  OutputTag,
  ProcessOperator,
  ReducingStateDescriptor,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type RestartStrategy,
} from '../src/index.js';

/**
 * Every public entry point of core that takes options, with bad input: each
 * row must fail at build time with an InvalidJobError whose message holds
 * `error` (owner, option and, for a near miss, the suggestion).
 * Add a row for every new option.
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const env = (): StreamExecutionEnvironment => StreamExecutionEnvironment.create({ clock: new ManualClock() });
const create = (options: unknown) => () => StreamExecutionEnvironment.create(options as never);
const restart = (strategy: unknown) => () => env().setRestartStrategy(strategy as RestartStrategy);
/** A factory's own check: it throws before any environment sees the strategy. */
const made = (make: () => unknown) => make;

const cases: readonly BadInput[] = [
  // StreamExecutionEnvironment.create
  ['create: misspelled key', create({ paralelism: 2 }), "StreamExecutionEnvironment.create(): unknown option 'paralelism'; did you mean 'parallelism'? (known: parallelism, clock,"],
  ['create: misspelled key (case)', create({ chunksize: 2 }), "did you mean 'chunkSize'?"],
  ['create: not an object', create('fast'), 'StreamExecutionEnvironment.create(): needs an options object'],
  ['create: parallelism 0', create({ parallelism: 0 }), "option 'parallelism' must be an integer in [1, 128], got 0"],
  ['create: parallelism NaN', create({ parallelism: Number.NaN }), "option 'parallelism' must be an integer in [1, 128], got NaN"],
  ['create: parallelism 1.5', create({ parallelism: 1.5 }), "option 'parallelism' must be an integer in [1, 128], got 1.5"],
  ['create: parallelism a string', create({ parallelism: '2' }), "option 'parallelism' must be an integer in [1, 128], got '2'"],
  ['create: parallelism over the key groups', create({ parallelism: 129 }), "option 'parallelism' must be an integer in [1, 128], got 129"],
  ['create: chunkSize negative', create({ chunkSize: -1 }), "option 'chunkSize' must be an integer >= 1, got -1"],
  ['create: chunkSize overflow', create({ chunkSize: 1e300 }), "option 'chunkSize' must be an integer <= 9007199254740991, got 1e+300"],
  ['create: channelCapacity Infinity', create({ channelCapacity: Number.POSITIVE_INFINITY }), "option 'channelCapacity' must be an integer <= 9007199254740991, got Infinity"],
  ['create: clock without schedule', create({ clock: { now: () => 0 } }), "option 'clock' must be a Clock (an object with now() and schedule()), got an object"],
  ['create: metrics not a registry', create({ metrics: {} }), "option 'metrics' must be a MetricRegistry, got an object"],
  ['create: metrics with group() only', create({ metrics: { group() {} } }), "option 'metrics' must be a MetricRegistry, got an object without scopedGroup(), snapshot(), remove(), register()"],
  ['create: metrics null', create({ metrics: null }), "option 'metrics' must be a MetricRegistry, got null"],
  ['create: restartStrategy unknown kind', create({ restartStrategy: { kind: 'fixed' } }), "option 'kind' must be 'none', 'fixedDelay' or 'exponentialDelay', got 'fixed'"],
  ['create: restartStrategy not an object', create({ restartStrategy: 'none' }), 'restartStrategy: needs an options object'],
  // RestartStrategies
  ['fixedDelay: attempts negative', made(() => RestartStrategies.fixedDelay(-1, 10)), "restartStrategy fixedDelay: option 'attempts' must be an integer >= 0, got -1"],
  ['fixedDelay: attempts 1.5', made(() => RestartStrategies.fixedDelay(1.5, 10)), "option 'attempts' must be an integer >= 0, got 1.5"],
  ['fixedDelay: attempts NaN', made(() => RestartStrategies.fixedDelay(Number.NaN, 10)), "option 'attempts' must be an integer >= 0, got NaN"],
  ['fixedDelay: misspelled field', restart({ kind: 'fixedDelay', attempts: 1, delay: 10 }), "unknown option 'delay'; did you mean 'delayMs'?"],
  ['exponentialDelay: misspelled key', made(() => RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 2, multipler: 3 } as never)), "unknown option 'multipler'; did you mean 'multiplier'?"],
  ['exponentialDelay: multiplier NaN', made(() => RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 2, multiplier: Number.NaN })), "option 'multiplier' must be a finite number >= 1, got NaN"],
  ['exponentialDelay: multiplier Infinity', made(() => RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 2, multiplier: Number.POSITIVE_INFINITY })), "option 'multiplier' must be a finite number >= 1, got Infinity"],
  ['exponentialDelay: initialDelayMs over maxDelayMs', made(() => RestartStrategies.exponentialDelay({ initialDelayMs: 60_000, maxDelayMs: 10 })), "restartStrategy exponentialDelay: option 'maxDelayMs' (10) must be >= initialDelayMs (60000)"],
  ['create: restartStrategy null', create({ restartStrategy: null }), 'restartStrategy: needs an options object'],
  ['setRestartStrategy: initialDelayMs over maxDelayMs', restart({ kind: 'exponentialDelay', initialDelayMs: 2, maxDelayMs: 1 }), "option 'maxDelayMs' (1) must be >= initialDelayMs (2)"],
  ['exponentialDelay: attempts overflow', made(() => RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 2, attempts: 2 ** 60 })), "option 'attempts' must be an integer <="],
  // enableCheckpointing
  ['enableCheckpointing: no options', () => env().enableCheckpointing(1000, undefined as never), 'enableCheckpointing(): needs an options object'],
  ['enableCheckpointing: misspelled key', () => env().enableCheckpointing(1000, { storage: '/tmp/x', strage: 1 } as never), "enableCheckpointing(): unknown option 'strage'"],
  ['enableCheckpointing: storage with store() only', () => env().enableCheckpointing(1000, { storage: { store() {} } as never }), "enableCheckpointing(): option 'storage' must be a directory path or a CheckpointStorage, got an object without highestCheckpointId(), loadLatest(), load()"],
  ['enableCheckpointing: storage a number', () => env().enableCheckpointing(1000, { storage: 5 as never }), "enableCheckpointing(): option 'storage' must be a directory path or a CheckpointStorage, got 5"],
  // execute
  ['execute: misspelled key', () => env().fromElements(1).print().env.executeAsync('job', { restorefrom: 'latest' } as never), "execute(): unknown option 'restorefrom'; did you mean 'restoreFrom'?"],
  ['execute: empty restoreFrom', () => env().fromElements(1).print().env.executeAsync('job', { restoreFrom: '' }), "execute(): option 'restoreFrom' must be a non-empty string, got ''"],
  ['execute: job name not a string', () => env().executeAsync(42 as never), "execute(): option 'jobName' must be a non-empty string, got 42"],
  // sources
  ['fromCollection: not iterable', () => env().fromCollection(5 as never), 'fromCollection(): needs an array or an iterable, got 5'],
  ['fromAsyncIterable: a sync array', () => env().fromAsyncIterable([1, 2] as never), 'fromAsyncIterable(): needs an AsyncIterable or a function that returns one, got an array'],
  ['fromSource: no name', () => env().fromSource(new FileSource('in.txt'), undefined as never), "fromSource(): option 'name' must be a non-empty string, got undefined"],
  ['FileSource: no path', () => new FileSource(undefined as never), "FileSource: option 'path' must be a non-empty string, got undefined"],
  ['FileSource: no files', () => new FileSource([]), "FileSource: option 'paths' must list at least one file"],
  ['FileSource: an empty path among files', () => new FileSource(['a.txt', '']), "FileSource: option 'paths[1]' must be a non-empty string, got ''"],
  // FileSink
  ['FileSink: exactly_once', () => FileSink.jsonLines('/tmp/out', { guarantee: 'exactly_once' as never }), "FileSink.jsonLines(): option 'guarantee' must be 'exactly-once' or 'at-least-once', got 'exactly_once'"],
  ['FileSink: misspelled key', () => FileSink.jsonLines('/tmp/out', { guarantees: 'at-least-once' } as never), "FileSink.jsonLines(): unknown option 'guarantees'; did you mean 'guarantee'?"],
  ['FileSink: encode not a function', () => FileSink.jsonLines('/tmp/out', { encode: 'json' as never }), "FileSink.jsonLines(): option 'encode' must be a function, got 'json'"],
  ['FileSink: no directory', () => FileSink.jsonLines(undefined as never), "FileSink.jsonLines(): option 'directory' must be a non-empty string, got undefined"],
  ['FileSink: options not an object', () => FileSink.jsonLines('/tmp/out', 'at-least-once' as never), 'FileSink.jsonLines(): needs an options object'],
  // FileCheckpointStorage
  ['FileCheckpointStorage: retain 0', () => new FileCheckpointStorage('/tmp/c', { retain: 0 }), "FileCheckpointStorage: option 'retain' must be an integer >= 1, got 0"],
  ['FileCheckpointStorage: retain 2.5', () => new FileCheckpointStorage('/tmp/c', { retain: 2.5 }), "option 'retain' must be an integer >= 1, got 2.5"],
  ['FileCheckpointStorage: misspelled key', () => new FileCheckpointStorage('/tmp/c', { retian: 2 } as never), "FileCheckpointStorage: unknown option 'retian'; did you mean 'retain'?"],
  ['FileCheckpointStorage: onWarning not a function', () => new FileCheckpointStorage('/tmp/c', { onWarning: true as never }), "option 'onWarning' must be a function, got true"],
  ['FileCheckpointStorage: no directory', () => new FileCheckpointStorage(3 as never), "FileCheckpointStorage: option 'directory' must be a non-empty string, got 3"],
  // DataStream methods
  ['transform: misspelled key', () => env().fromElements(1).transform('Op', (ctx) => new ProcessOperator(ctx, { processElement() {} }), { chainig: 'head' } as never), "transform('Op'): unknown option 'chainig'; did you mean 'chaining'?"],
  // The runtime's own way of making an operator keyed, once accepted from users too: keyed state behind a rebalance edge.
  ['transform: keySelector (internal)', () => env().fromElements(1).transform('Op', (ctx) => new ProcessOperator(ctx, { processElement() {} }), { keySelector: String } as never), "transform('Op'): unknown option 'keySelector'"],
  ['transform: unknown chaining', () => env().fromElements(1).transform('Op', (ctx) => new ProcessOperator(ctx, { processElement() {} }), { chaining: 'never' as never }), "transform('Op'): option 'chaining' must be 'always', 'head' or 'first', got 'never'"],
  ['transform: requiredSideOutputs not tags', () => env().fromElements(1).transform('Op', (ctx) => new ProcessOperator(ctx, { processElement() {} }), { requiredSideOutputs: ['dead'] as never }), "option 'requiredSideOutputs' must be an array of OutputTags, got an array"],
  ['map: open not a method', () => env().fromElements(1).map({ map: (x: number) => x, open: 5 } as never), "map(): the function's 'open' must be a method, got 5"],
  ['map: open a string', () => env().fromElements(1).map({ map: (x: number) => x, open: 'init' } as never), "map(): the function's 'open' must be a method, got 'init'"],
  ['filter: close not a method', () => env().fromElements(1).filter({ filter: () => true, close: true } as never), "filter(): the function's 'close' must be a method, got true"],
  ['flatMap: open null', () => env().fromElements(1).flatMap({ flatMap() {}, open: null } as never), "flatMap(): the function's 'open' must be a method, got null"],
  ['process: onTimer not a method', () => env().fromElements(1).process({ processElement() {}, onTimer: 5 } as never), "process(): the function's 'onTimer' must be a method, got 5"],
  ['keyed process: onTimer not a method', () => env().fromElements(1).keyBy((x) => x).process({ processElement() {}, onTimer: {} } as never), "process(): the function's 'onTimer' must be a method, got an object"],
  ['keyed reduce: open not a method', () => env().fromElements(1).keyBy((x) => x).reduce({ reduce: (a: number) => a, open: 1 } as never), "reduce(): the function's 'open' must be a method, got 1"],
  ['setParallelism: 0', () => env().fromElements(1).map((x) => x).setParallelism(0), "setParallelism() of 'Map': option 'parallelism' must be an integer in [1, 128], got 0"],
  ['setParallelism: over the key groups', () => env().fromElements(1).map((x) => x).setParallelism(1000), "option 'parallelism' must be an integer in [1, 128], got 1000"],
  ['print: prefix not a string', () => env().fromElements(1).print(7 as never), "print(): option 'prefix' must be a non-empty string, got 7"],
  ['getSideOutput: not a tag', () => env().fromElements(1).map((x) => x).getSideOutput('late' as never), "getSideOutput() of 'Map' needs an OutputTag, got 'late'"],
  ['OutputTag: empty id', () => new OutputTag(''), "OutputTag needs a non-empty string id, got ''"],
  // metrics
  ['Histogram: misspelled key', () => new Histogram({ bucket: [1, 2] } as never), "Histogram: unknown option 'bucket'; did you mean 'buckets'? (known: windowSize, buckets)"],
  ['Histogram: options a string', () => new Histogram('5' as never), "Histogram: options must be a window size or an options object, got '5'"],
  ['Histogram: buckets not an array', () => new Histogram({ buckets: '1,2' as never }), "Histogram: option 'buckets' must be an array of numbers, got '1,2'"],
  ['Histogram: buckets of strings', () => new Histogram({ buckets: ['1', '2'] as never }), "Histogram: option 'buckets' must be an array of numbers, got an array"],
  ['group.histogram: misspelled key', () => new MetricRegistry().group('g').histogram('h', { bucket: [1, 2] } as never), "Histogram: unknown option 'bucket'; did you mean 'buckets'?"],
  ['group.gauge: not a function', () => new MetricRegistry().group('g').gauge('x', 5 as never), "gauge 'x': option 'read' must be a function, got 5"],
  // state descriptors
  ['ReducingStateDescriptor: reduce not a function', () => new ReducingStateDescriptor('r', 5 as never), "ReducingStateDescriptor 'r': option 'reduce' must be a function, got 5"],
  ['ValueStateDescriptor: empty name', () => new ValueStateDescriptor(''), "ValueStateDescriptor: option 'name' must be a non-empty string, got ''"],
];

describe('options are checked at build time', () => {
  it.each(cases)('%s', (_title, build, error) => {
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(error);
  });

  it('accepts every option when spelled right', () => {
    const e = StreamExecutionEnvironment.create({
      parallelism: 128,
      chunkSize: 1,
      channelCapacity: 1,
      clock: new ManualClock(),
      restartStrategy: RestartStrategies.exponentialDelay({ initialDelayMs: 1, maxDelayMs: 2, multiplier: 1, attempts: 0 }),
    });
    expect(e.parallelism).toBe(128);
    expect(() => e.setRestartStrategy(RestartStrategies.fixedDelay(0, 0))).not.toThrow();
    expect(() => FileSink.jsonLines('/tmp/out', { guarantee: 'at-least-once', encode: String })).not.toThrow();
    expect(() => new FileCheckpointStorage('/tmp/c', { retain: 1, onWarning: () => {} })).not.toThrow();
  });
});

describe('required side outputs', () => {
  const dead = new OutputTag<number>('dead');
  /** Sends odd numbers to `dead`, even ones on. */
  const split = (e: StreamExecutionEnvironment) =>
    e.fromElements(1, 2, 3, 4).transform<number>(
      'Splitter',
      (ctx) => new ProcessOperator<number, number>(ctx, { processElement: (n, c, out) => (n % 2 === 0 ? out.collect(n) : c.output(dead, n)) }),
      { requiredSideOutputs: [dead] },
    );

  it('fails the build, naming the operator and the tag, when nothing reads the side output', () => {
    const e = env();
    split(e).uid('splitter').print();
    expect(() => e.executeAsync('job')).toThrow(InvalidJobError);
    const again = env();
    split(again).uid('splitter').print();
    expect(() => again.executeAsync('job')).toThrow(
      "Operator 'Splitter' (uid 'splitter') sends records that must not be lost (dead letters) to the side output 'dead', but nothing reads it",
    );
  });

  it('fails the build when the side output stream is taken but goes nowhere', () => {
    const e = env();
    const main = split(e);
    main.print();
    main.getSideOutput(dead).map((n) => n);
    expect(() => e.executeAsync('job')).toThrow("side output 'dead', but nothing reads it");
  });

  it('builds and delivers every record when the side output is read', async () => {
    const e = StreamExecutionEnvironment.create();
    const main = split(e);
    const letters: number[] = [];
    main.getSideOutput(dead).addSink((n) => {
      letters.push(n);
    });
    expect(await main.executeAndCollect()).toEqual([2, 4]);
    expect(letters).toEqual([1, 3]);
  });
});

describe('metrics', () => {
  it('a gauge refused at registration is not registered (it reported NaN forever)', () => {
    const registry = new MetricRegistry();
    expect(() => registry.group('g').gauge('x', undefined as never)).toThrow("gauge 'x': option 'read' must be a function, got undefined");
    expect(registry.snapshot()).toEqual({});
  });
});
