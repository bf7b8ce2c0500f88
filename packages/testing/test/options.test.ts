import { InvalidJobError, type JobExecutionResult, type OperatorFactory } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import {
  FakeBatchService,
  feedMarbles,
  KeyedOneInputOperatorHarness,
  ManualClock,
  OneInputOperatorHarness,
  runJobToCompletion,
  toMarbles,
} from '../src/index.js';

/**
 * Every public entry point of @tributary/testing with bad options: each row
 * must fail (throw, or reject for the async ones) with an InvalidJobError
 * whose message holds `error`. Add a row for every new option.
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const factory: OperatorFactory<number, number> = (ctx) => ({ processElement: (n: number) => ctx.output.collect(n) });
const harness = (options: unknown) => () => new OneInputOperatorHarness(factory, options as never);
const service = (options: Record<string, unknown>) => () => new FakeBatchService({ clock: new ManualClock(), handler: (xs: readonly number[]) => [...xs], ...options });
const job: Promise<JobExecutionResult> = new Promise(() => {});

const cases: readonly BadInput[] = [
  // harnesses
  ['harness: misspelled key', harness({ paralelism: 2 }), "OneInputOperatorHarness: unknown option 'paralelism'; did you mean 'parallelism'?"],
  ['harness: options not an object', harness('op'), 'OneInputOperatorHarness: needs an options object'],
  ['harness: parallelism 0', harness({ parallelism: 0 }), "OneInputOperatorHarness: option 'parallelism' must be an integer in [1, 128], got 0"],
  ['harness: subtaskIndex out of range', harness({ parallelism: 2, subtaskIndex: 2 }), "option 'subtaskIndex' must be an integer in [0, 1], got 2"],
  ['harness: subtaskIndex negative', harness({ subtaskIndex: -1 }), "option 'subtaskIndex' must be an integer in [0, 0], got -1"],
  ['harness: maxSteps NaN', harness({ maxSteps: Number.NaN }), "option 'maxSteps' must be an integer >= 1, got NaN"],
  ['harness: clock not a ManualClock', harness({ clock: { now: () => 0 } }), "option 'clock' must be a ManualClock, got an object"],
  ['harness: metrics not a registry', harness({ metrics: new Map() }), "option 'metrics' must be a MetricRegistry, got an object"],
  ['harness: empty name', harness({ name: '' }), "option 'name' must be a non-empty string, got ''"],
  ['harness: factory not a function', () => new OneInputOperatorHarness({} as never), "OneInputOperatorHarness: option 'factory' must be a function, got an object"],
  ['forProcessFunction: misspelled key', () => OneInputOperatorHarness.forProcessFunction({ processElement() {} }, { uuid: 'x' } as never), "unknown option 'uuid'; did you mean 'uid'?"],
  ['keyed harness: misspelled key', () => new KeyedOneInputOperatorHarness(factory, (n: number) => n, { maxstep: 5 } as never), "KeyedOneInputOperatorHarness: unknown option 'maxstep'; did you mean 'maxSteps'?"],
  ['keyed harness: no key selector', () => new KeyedOneInputOperatorHarness(factory, 'id' as never), "KeyedOneInputOperatorHarness: option 'keySelector' must be a function, got 'id'"],
  // FakeBatchService
  ['FakeBatchService: misspelled key', service({ concurency: 2 }), "FakeBatchService: unknown option 'concurency'; did you mean 'concurrency'?"],
  ['FakeBatchService: no options', () => new FakeBatchService(undefined as never), 'FakeBatchService: needs an options object'],
  ['FakeBatchService: latency misspelled', service({ latency: { baseMs: 1, perItem: 2 } }), "unknown option 'latency.perItem'; did you mean 'latency.perItemMs'?"],
  ['FakeBatchService: concurrency 1.5', service({ concurrency: 1.5 }), "option 'concurrency' must be an integer >= 1, got 1.5"],
  ['FakeBatchService: failureRate NaN', service({ failureRate: Number.NaN }), "option 'failureRate' must be a finite number in [0, 1], got NaN"],
  ['FakeBatchService: failureRate a string', service({ failureRate: '0.1' }), "option 'failureRate' must be a finite number in [0, 1], got '0.1'"],
  ['FakeBatchService: failCalls not an array', service({ failCalls: 3 }), "option 'failCalls' must be an array of 1-based call numbers, got 3"],
  ['FakeBatchService: hangCalls 0', service({ hangCalls: [0] }), "option 'hangCalls' holds 1-based call numbers, got 0"],
  ['FakeBatchService: handler missing', () => new FakeBatchService({ clock: new ManualClock() } as never), "FakeBatchService: option 'handler' must be a function, got undefined"],
  ['FakeBatchService: clock missing', () => new FakeBatchService({ handler: () => [] } as never), "FakeBatchService: option 'clock' must be a Clock, got undefined"],
  ['FakeBatchService: seed NaN', service({ seed: Number.NaN }), "option 'seed' must be a finite number, got NaN"],
  ['FakeBatchService: keepCallLog a string', service({ keepCallLog: 'no' }), "option 'keepCallLog' must be true or false, got 'no'"],
  ['FakeBatchService: failItems not a function', service({ failItems: [1] }), "option 'failItems' must be a function, got an array"],
  ['FakeBatchService.call: misspelled signal', () => service({})().call([1], { sigal: new AbortController().signal } as never), "FakeBatchService.call(): unknown option 'sigal'; did you mean 'signal'?"],
  ['FakeBatchService.call: signal a string', () => service({})().call([1], { signal: 'x' } as never), "FakeBatchService.call(): option 'signal' must be an AbortSignal, got 'x'"],
  ['FakeBatchService.callPerItem: signal an object', () => service({})().callPerItem([1], { signal: {} } as never), "FakeBatchService.callPerItem(): option 'signal' must be an AbortSignal, got an object"],
  // runJobToCompletion
  ['runJobToCompletion: misspelled key', () => runJobToCompletion(job, new ManualClock(), { maxStep: 5 } as never), "runJobToCompletion(): unknown option 'maxStep'; did you mean 'maxSteps'?"],
  ['runJobToCompletion: idleRounds 0', () => runJobToCompletion(job, new ManualClock(), { idleRounds: 0 }), "runJobToCompletion(): option 'idleRounds' must be an integer >= 1, got 0"],
  ['runJobToCompletion: no clock', () => runJobToCompletion(job, undefined as never), "runJobToCompletion(): needs the job's ManualClock as its second argument, got undefined"],
  ['runJobToCompletion: not a job', () => runJobToCompletion('job' as never, new ManualClock()), "runJobToCompletion(): needs a JobClient (env.executeAsync()) or the promise of env.execute(), got 'job'"],
  // ManualClock and marbles
  ['ManualClock: NaN start', () => new ManualClock(Number.NaN), "ManualClock: option 'startTime' must be a finite number, got NaN"],
  ['feedMarbles: misspelled key', () => feedMarbles(new OneInputOperatorHarness(factory), 'a|', { frameMs: 10, value: { a: 1 } } as never), "feedMarbles(): unknown option 'value'; did you mean 'values'?"],
  ['toMarbles: misspelled key', () => toMarbles([], { frameMs: 10, symbols: String } as never), "toMarbles(): unknown option 'symbols'; did you mean 'symbol'?"],
  ['feedMarbles: startTime a string', () => feedMarbles(new OneInputOperatorHarness(factory), 'a|', { frameMs: 10, startTime: 'x' } as never), "feedMarbles(): option 'startTime' must be a finite number, got 'x'"],
  ['feedMarbles: startTime NaN', () => feedMarbles(new OneInputOperatorHarness(factory), 'a|', { frameMs: 10, startTime: Number.NaN }), "feedMarbles(): option 'startTime' must be a finite number, got NaN"],
  ['toMarbles: startTime a string', () => toMarbles([{ time: 0, value: 1 }], { frameMs: 10, startTime: 'x' } as never), "toMarbles(): option 'startTime' must be a finite number, got 'x'"],
  ['toMarbles: startTime NaN', () => toMarbles([{ time: 0, value: 1 }], { frameMs: 10, startTime: Number.NaN }), "toMarbles(): option 'startTime' must be a finite number, got NaN"],
];

async function failureOf(build: () => unknown): Promise<unknown> {
  try {
    await build();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('options are checked', () => {
  it.each(cases)('%s', async (_title, build, error) => {
    const failure = await failureOf(build);
    expect(failure).toBeInstanceOf(InvalidJobError);
    expect((failure as Error).message).toContain(error);
  });
});
