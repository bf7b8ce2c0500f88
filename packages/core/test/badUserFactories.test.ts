import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../src/index.js';

/** Factories the runtime calls when the job runs: what they return is checked there, naming the operator or source. */
const env = (): StreamExecutionEnvironment => StreamExecutionEnvironment.create({ runtime: 'single-thread' });

describe('a factory that returns the wrong thing', () => {
  it.each([
    ['null', null, 'null'],
    ['a function', () => undefined, 'a function'],
    ['an object without processElement()', { open() {} }, 'an object'],
  ])("fails a transform()'s job naming the operator, when it returns %s", async (_title, returned, shown) => {
    const job = env().fromElements(1).transform('MyOp', () => returned as never).executeAndCollect();
    // It was "Cannot read properties of null (reading 'recordStage')".
    await expect(job).rejects.toThrow(`operator 'MyOp': transform('MyOp'): the factory must return an operator (an object with processElement()), got ${shown}`);
  });

  it.each([
    ['5', 5],
    ['an array', [1, 2]],
    ['null', null],
    ['a Promise (an async function returns one; an async generator function, `async function*`, returns the iterable)', Promise.resolve([1])],
  ])("fails a fromAsyncIterable() job naming the source, when the function returns %s", async (shown, returned) => {
    const job = env().fromAsyncIterable(() => returned as never).executeAndCollect();
    await expect(job).rejects.toThrow(`operator 'Source: AsyncIterable': fromAsyncIterable(): the function must return an AsyncIterable, got ${shown}`);
  });
});
