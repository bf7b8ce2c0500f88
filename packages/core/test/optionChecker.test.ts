import { describe, expect, it } from 'vitest';
import { InvalidJobError, ManualClock, OptionChecker, describeValue } from '../src/index.js';

describe('OptionChecker', () => {
  const check = new OptionChecker('mySink');

  it('fails with an InvalidJobError naming the owner and the option', () => {
    expect(() => check.integer('batchSize', 0)).toThrow(new InvalidJobError("mySink: option 'batchSize' must be an integer >= 1, got 0"));
    expect(() => check.integer('batchSize', 0)).toThrow(InvalidJobError);
    expect(() => check.integer('minIdleMs', -1, 0)).toThrow("mySink: option 'minIdleMs' must be an integer >= 0, got -1");
    expect(() => check.nonNegative('delayMs', Number.POSITIVE_INFINITY)).toThrow("option 'delayMs' must be a finite number >= 0, got Infinity");
    expect(() => check.func('encode', 'x')).toThrow("option 'encode' must be a function, got 'x'");
    expect(() => check.nonEmptyString('stream', '')).toThrow("option 'stream' must be a non-empty string, got ''");
    expect(() => check.record('headers', [])).toThrow("option 'headers' must be an object, got an array");
    expect(() => check.object(null)).toThrow('mySink: needs an options object');
    expect(() => check.known({ batchSize: 1, batchsize: 2 }, new Set(['batchSize']))).toThrow(
      "mySink: unknown option 'batchsize'; did you mean 'batchSize'? (known: batchSize)",
    );
  });

  it('known suggests the nearest name for a near miss, and none for a far one', () => {
    const names = ['parallelism', 'chunkSize', 'delayMs', 'apiKey', 'retry'];
    const message = (key: string): string => {
      try {
        check.known({ [key]: 1 }, names);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(message('paralelism')).toContain("did you mean 'parallelism'?");
    expect(message('apikey')).toContain("did you mean 'apiKey'?");
    expect(message('chunksize')).toContain("did you mean 'chunkSize'?");
    expect(message('delay')).toContain("did you mean 'delayMs'?");
    expect(message('retyr')).toContain("did you mean 'retry'?");
    expect(message('rps')).toBe("mySink: unknown option 'rps' (known: parallelism, chunkSize, delayMs, apiKey, retry)");
    expect(message('timeout')).not.toContain('did you mean');
    expect(() => check.known({ rps: 1 }, ['requestsPerSecond'], 'rateLimit')).toThrow(
      "mySink: unknown option 'rateLimit.rps' (known in 'rateLimit': requestsPerSecond)",
    );
    expect(() => check.record('rateLimit', { itemsPerSec: 1 }, ['requestsPerSecond', 'itemsPerSecond'])).toThrow(
      "unknown option 'rateLimit.itemsPerSec'; did you mean 'rateLimit.itemsPerSecond'?",
    );
    expect(() => check.known({ a: 1 }, [])).toThrow("unknown option 'a' (known: none)");
  });

  it('integer rejects values beyond max, by default beyond the safe integers', () => {
    expect(() => check.integer('count', 2 ** 53)).toThrow(`option 'count' must be an integer <= ${Number.MAX_SAFE_INTEGER}, got 9007199254740992`);
    expect(() => check.integer('parallelism', 129, 1, 128)).toThrow("option 'parallelism' must be an integer in [1, 128], got 129");
    expect(() => check.optionalInteger('count', 1e300, 1)).toThrow("option 'count' must be an integer <=");
    expect(check.integer('count', Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('number checks finiteness and bounds and names them', () => {
    expect(check.number('ratio', 0.5, { min: 0, max: 1 })).toBe(0.5);
    expect(() => check.number('ratio', 1.5, { min: 0, max: 1 })).toThrow("option 'ratio' must be a finite number in [0, 1], got 1.5");
    expect(() => check.number('rate', 0, { above: 0 })).toThrow("option 'rate' must be a finite number > 0, got 0");
    expect(() => check.number('multiplier', Number.NaN, { min: 1 })).toThrow("option 'multiplier' must be a finite number >= 1, got NaN");
    expect(() => check.number('multiplier', Number.POSITIVE_INFINITY, { min: 1 })).toThrow('got Infinity');
    expect(() => check.number('share', '0.5', { above: 0, max: 1 })).toThrow("option 'share' must be a finite number > 0 and <= 1, got '0.5'");
    expect(() => check.number('x', 2, { max: 1 })).toThrow("option 'x' must be a finite number <= 1, got 2");
    expect(check.optionalNumber('x', undefined, { min: 0 })).toBeUndefined();
    expect(check.optionalBoolean('flag', false)).toBe(false);
    const clock = new ManualClock();
    expect(check.optionalClock('clock', clock)).toBe(clock);
    expect(check.optionalClock('clock', undefined)).toBeUndefined();
    expect(() => check.optionalClock('clock', { now: () => 0 })).toThrow("option 'clock' must be a Clock (an object with now() and schedule()), got an object");
    expect(() => check.optionalBoolean('flag', 'yes')).toThrow("option 'flag' must be true or false, got 'yes'");
  });

  it('returns what it accepts; optional checks pass an absent value through', () => {
    expect(check.integer('minIdleMs', 0, 0)).toBe(0);
    expect(check.nonNegative('delayMs', 2.5)).toBe(2.5);
    const fn = (): void => {};
    expect(check.optionalFunc('onDone', fn)).toBe(fn);
    expect(check.optionalFunc('onDone', undefined)).toBeUndefined();
    expect(check.optionalString('model', undefined)).toBeUndefined();
    expect(() => check.optionalString('model', 3)).toThrow("option 'model' must be a non-empty string, got 3");
    expect(check.optionalInteger('batchSize', undefined, 100)).toBe(100);
    expect(check.optionalInteger('batchSize', 7, 100)).toBe(7);
    expect(check.optionalInteger('minIdleMs', 0, 5, 0)).toBe(0);
    // null is a value the user gave, not an absent option.
    expect(() => check.optionalInteger('batchSize', null, 100)).toThrow("option 'batchSize' must be an integer >= 1, got null");
  });

  it('oneOf accepts one of the listed strings, or the fallback for an absent option, and lists them when it fails', () => {
    expect(check.oneOf('ack', 'on-read', ['on-checkpoint', 'on-read'])).toBe('on-read');
    expect(check.oneOf('ack', undefined, ['on-checkpoint', 'on-read'], 'on-checkpoint')).toBe('on-checkpoint');
    expect(() => check.oneOf('ack', undefined, ['on-checkpoint', 'on-read'])).toThrow(
      "mySink: option 'ack' must be 'on-checkpoint' or 'on-read', got undefined",
    );
    expect(() => check.oneOf('ordering', null, ['unordered', 'ordered', 'key-ordered'], 'unordered')).toThrow(
      "option 'ordering' must be 'unordered', 'ordered' or 'key-ordered', got null",
    );
    expect(() => check.oneOf('mode', 'b', ['a'])).toThrow("option 'mode' must be 'a', got 'b'");
    expect(check.optionalOneOf('format', undefined, ['float', 'base64'])).toBeUndefined();
    expect(() => check.optionalOneOf('format', 'hex', ['float', 'base64'])).toThrow("option 'format' must be 'float' or 'base64', got 'hex'");
  });

  describe('duration', () => {
    const DAY = 24 * 60 * 60 * 1000;

    it.each([
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NaN, 'NaN'],
      [-1, '-1'],
      ['5', "'5'"],
      [null, 'null'],
    ])('rejects %s, naming the owner and the option', (value, shown) => {
      expect(() => check.duration('flushMs', value)).toThrow(
        new InvalidJobError(`mySink: option 'flushMs' must be a finite number of milliseconds >= 0, got ${shown}`),
      );
    });

    it('accepts 0, fractions and durations past the 2^31 ms of setTimeout', () => {
      expect([0, 2.5, 2 ** 31, 30 * DAY].map((ms) => check.duration('flushMs', ms))).toEqual([0, 2.5, 2 ** 31, 30 * DAY]);
    });

    it('rejects 0 when positive, fractions when integer', () => {
      expect(() => check.duration('timeout', 0, { positive: true })).toThrow("option 'timeout' must be a finite number of milliseconds > 0, got 0");
      expect(() => check.duration('blockMs', 1.5, { positive: true, integer: true })).toThrow(
        "option 'blockMs' must be a finite whole number of milliseconds > 0, got 1.5",
      );
      expect(check.duration('blockMs', 30 * DAY, { positive: true, integer: true })).toBe(30 * DAY);
    });

    it('says how to ask for "never" when given Infinity', () => {
      const infinity = 'leave it out for no timeout';
      expect(() => check.duration('timeout', Number.POSITIVE_INFINITY, { positive: true, infinity })).toThrow(
        "option 'timeout' must be a finite number of milliseconds > 0, got Infinity (leave it out for no timeout)",
      );
      expect(() => check.duration('timeout', -1, { infinity })).toThrow(/got -1$/);
    });

    it('optionalDuration returns the fallback, unchecked, for an absent option only', () => {
      expect(check.optionalDuration('timeout', undefined, Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
      expect(check.optionalDuration('timeout', 7, 1000)).toBe(7);
      expect(() => check.optionalDuration('timeout', null, 1000)).toThrow("option 'timeout' must be a finite number of milliseconds >= 0, got null");
      expect(() => check.optionalDuration('timeout', 0, 1000, { positive: true })).toThrow("got 0");
    });
  });

  it('describes values by kind', () => {
    expect([null, undefined, 'a', 1n, Symbol('s'), {}, [], () => 1].map(describeValue)).toEqual([
      'null',
      'undefined',
      "'a'",
      '1',
      'Symbol(s)',
      'an object',
      'an array',
      'a function',
    ]);
  });
});
