import { InvalidJobError, StreamExecutionEnvironment } from '@tributary/core';
import { FakeBatchService, ManualClock, OneInputOperatorHarness } from '@tributary/testing';
import { describe, expect, it } from 'vitest';
import { AsyncDataStream, asyncBatchOperatorFactory, LruResultCache, RetryStrategies, type ResultCache, type ResultFuture, type WaitBatchOptions } from '../../src/index.js';
import { metric } from '../helpers.js';

type Options = WaitBatchOptions<string, string>;

/** A harness calling an upper-casing service of 10 ms a call, in order, per item. */
function setup(options: Partial<Options>, service: { failItems?: (x: string) => boolean } = {}) {
  const clock = new ManualClock(0);
  const fake = new FakeBatchService<string, string>({ clock, handler: (xs) => xs.map((x) => x.toUpperCase()), latency: { baseMs: 10, perItemMs: 0 }, ...service });
  const harness = new OneInputOperatorHarness<string, string>(
    asyncBatchOperatorFactory<string, string>((xs) => fake.callPerItem(xs), {
      maxBatchSize: 4,
      maxBatchDelay: 5,
      ordering: 'ordered',
      resultMode: 'per-item',
      ...options,
    }),
    { clock, name: 'embed' },
  );
  return { clock, fake, harness };
}

describe('dedupe: one call per distinct input', () => {
  it('sends identical inputs of a batch once and hands the result to each, in order', async () => {
    const { fake, harness } = setup({ dedupe: { key: (x) => x } });
    await harness.open();
    harness.processElements(['a', 'b', 'a', 'a', 'c', 'c']);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['A', 'B', 'A', 'A', 'C', 'C']);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a', 'b'], ['c']]);
    expect(metric(harness, 'dedupedRecords')).toBe(3);
    // `batches` and `records` count the calls made and the records they carried.
    expect([metric(harness, 'batches'), metric(harness, 'records')]).toEqual([2, 3]);
  });

  it('keys by the user key: inputs with one key share the first one\'s result', async () => {
    const { fake, harness } = setup({ dedupe: { key: (x) => x.toLowerCase() } });
    await harness.open();
    harness.processElements(['x', 'X', 'y', 'x']);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['X', 'X', 'Y', 'X']);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['x', 'y']]);
  });

  it('answers repeats from the cache without a call, counting hits and misses', async () => {
    const { fake, harness } = setup({ dedupe: { key: (x) => x, cache: { maxEntries: 10 } } });
    await harness.open();
    harness.processElements(['a', 'b', 'c', 'd']);
    await harness.drain();
    await harness.setProcessingTime(10);
    harness.processElements(['a', 'b', 'e', 'a', 'b', 'a', 'b', 'd']);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['A', 'B', 'C', 'D', 'A', 'B', 'E', 'A', 'B', 'A', 'B', 'D']);
    // The second batch sends only 'e'; the third is answered whole by the cache.
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a', 'b', 'c', 'd'], ['e']]);
    expect([metric(harness, 'cacheHits'), metric(harness, 'cacheMisses')]).toEqual([7, 5]);
    // Three batches formed, two calls made: the batch the cache answered in full is no call.
    expect([metric(harness, 'batches'), metric(harness, 'records'), metric(harness, 'dedupedRecords')]).toEqual([2, 5, 0]);
  });

  it('counts each record once: sent, answered by the cache, or sharing the call of an identical one', async () => {
    const { harness } = setup({ maxBatchSize: 6, dedupe: { key: (x) => x, cache: { maxEntries: 10 } } });
    await harness.open();
    harness.processElements(['a', 'b']);
    await harness.drain();
    await harness.setProcessingTime(10);
    // 'a' twice from the cache, 'c' sent once for three records.
    harness.processElements(['a', 'c', 'a', 'c', 'c', 'a']);
    await harness.endInput();
    const counts = ['records', 'cacheHits', 'dedupedRecords', 'cacheMisses', 'batches'].map((name) => metric(harness, name) as number);
    expect(counts).toEqual([3, 3, 2, 3, 2]);
    expect(counts[0]! + counts[1]! + counts[2]!).toBe(8);
    expect(harness.getOutput()).toEqual(['A', 'B', 'A', 'C', 'A', 'C', 'C', 'A']);
  });

  it('calls again once a result expired (ttl) or was evicted (maxEntries)', async () => {
    const { clock, fake, harness } = setup({ maxBatchSize: 1, dedupe: { key: (x) => x, cache: { maxEntries: 2, ttl: 100 } } });
    await harness.open();
    const send = async (x: string): Promise<void> => {
      harness.processElement(x);
      await harness.setProcessingTime(clock.now() + 10);
    };
    await send('a'); // stored at 10, valid until 110
    await send('a'); // hit
    await send('b');
    await send('c'); // evicts 'a', the least recently used
    await send('a'); // miss: evicted
    await harness.setProcessingTime(200);
    await send('a'); // miss: expired
    await harness.endInput();
    expect(fake.calls.map((c) => c.inputs[0])).toEqual(['a', 'b', 'c', 'a', 'a']);
  });

  it('does not cache failed items: every input of the key gets the error and is retried', async () => {
    let fail = true;
    const { fake, harness } = setup(
      { dedupe: { key: (x) => x, cache: { maxEntries: 10 } }, retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 1 }) },
      { failItems: (x) => x === 'b' && fail },
    );
    await harness.open();
    harness.processElements(['a', 'b', 'b', 'c']);
    await harness.setProcessingTime(10);
    fail = false;
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['A', 'B', 'B', 'C']);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a', 'b', 'c'], ['b']]);
  });

  it('works with a remote cache: async lookups; a failed lookup is counted and every key is sent', async () => {
    const held = new Map<string, string>([['a', 'cached-A']]);
    let down = true;
    const remote: ResultCache<string> = {
      getMany: async (keys) => {
        if (down) throw new Error('cache unreachable');
        return keys.map((k) => held.get(k));
      },
      setMany: async (entries) => {
        for (const [k, v] of entries) held.set(k, v);
      },
    };
    const { fake, harness } = setup({ dedupe: { key: (x) => x, cache: remote } });
    await harness.open();
    harness.processElements(['a', 'b', 'c', 'd']);
    await harness.drain();
    await harness.setProcessingTime(10);
    down = false;
    harness.processElements(['a', 'b', 'e']);
    await harness.endInput();
    // The outage cost a call of every key, not a record nor a retry; the next batch finds what that call stored.
    expect(harness.getOutput()).toEqual(['A', 'B', 'C', 'D', 'A', 'B', 'E']);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a', 'b', 'c', 'd'], ['e']]);
    expect(held.get('b')).toBe('B');
    expect([metric(harness, 'cacheErrors'), metric(harness, 'cacheHits'), metric(harness, 'retries'), metric(harness, 'failures')]).toEqual([1, 2, 0, 0]);
  });

  it('fails the call, naming the cause, when the cache refuses the values at once (a result it cannot store)', async () => {
    const strict: ResultCache<string> = {
      getMany: (keys) => keys.map(() => undefined),
      setMany: () => {
        throw new TypeError('cannot serialize the result for key a');
      },
    };
    const { harness } = setup({ dedupe: { key: (x) => x, cache: strict } });
    await harness.open();
    harness.processElements(['a']);
    await expect(harness.endInput()).rejects.toThrow(/cannot serialize the result for key a/);
    expect(String(harness.failure)).toMatch(/AsyncBatchFailedError: .*cannot serialize the result for key a/);
    expect(harness.getOutput()).toEqual([]);
  });

  it('opens the cache with each subtask and closes it once the stores it began have settled', async () => {
    const events: string[] = [];
    let finishStore: () => void = () => undefined;
    const remote: ResultCache<string> = {
      getMany: (keys) => keys.map(() => undefined),
      setMany: (entries) =>
        new Promise<void>((resolve) => {
          finishStore = () => {
            events.push(`stored ${entries.map(([k]) => k).join(',')}`);
            resolve();
          };
        }),
      open: () => {
        events.push('open');
      },
      close: () => {
        events.push('close');
      },
    };
    const { harness } = setup({ dedupe: { key: (x) => x, cache: remote } });
    await harness.open();
    harness.processElements(['a', 'b']);
    await harness.endInput();
    const closed = harness.close();
    await Promise.resolve();
    expect(events).toEqual(['open']);
    finishStore();
    await closed;
    expect(events).toEqual(['open', 'stored a,b', 'close']);
  });

  it('counts a cache that fails to store, and still emits the results', async () => {
    const broken: ResultCache<string> = { getMany: (keys) => keys.map(() => undefined), setMany: () => Promise.reject(new Error('read-only')) };
    const { harness } = setup({ dedupe: { key: (x) => x, cache: broken } });
    await harness.open();
    harness.processElements(['a', 'a']);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['A', 'A']);
    expect(metric(harness, 'cacheErrors')).toBe(1);
  });
});

describe('dedupe with retryOnResult', () => {
  interface Answer {
    readonly x: string;
    readonly ready: boolean;
  }
  const notReady = (outs: readonly Answer[]): boolean => outs.some((o) => !o.ready);

  /** A service that answers "not ready" to its first `readyAfter - 1` calls for a key, 10 ms a call, and a harness retrying those. */
  function readinessHarness(options: { cache: ResultCache<Answer>; maxAttempts: number; readyAfter: number; maxBatchSize?: number }) {
    const clock = new ManualClock(0);
    const seen = new Map<string, number>();
    const fake = new FakeBatchService<string, Answer>({
      clock,
      latency: { baseMs: 10, perItemMs: 0 },
      handler: (xs) =>
        xs.map((x) => {
          const n = (seen.get(x) ?? 0) + 1;
          seen.set(x, n);
          return { x, ready: n >= options.readyAfter };
        }),
    });
    const harness = new OneInputOperatorHarness<string, Answer>(
      asyncBatchOperatorFactory<string, Answer>((xs) => fake.callPerItem(xs), {
        maxBatchSize: options.maxBatchSize ?? 2,
        ordering: 'ordered',
        resultMode: 'per-item',
        retry: RetryStrategies.fixedDelay({ maxAttempts: options.maxAttempts, delayMs: 5, retryOnResult: notReady }),
        dedupe: { key: (x) => x, cache: options.cache },
      }),
      { clock, name: 'embed' },
    );
    return { clock, fake, harness };
  }

  it('does not cache a result the policy retries: the retry reaches the service, and only the accepted result is cached', async () => {
    const cache = new LruResultCache<Answer>({ maxEntries: 100, clock: new ManualClock(0) });
    const { clock, fake, harness } = readinessHarness({ cache, maxAttempts: 3, readyAfter: 2 });
    await harness.open();
    harness.processElements(['a', 'b', 'c', 'a']);
    await harness.drain();
    await harness.setProcessingTime(clock.now() + 100);
    harness.processElement('a'); // a later record: answered by the cache, with the accepted result
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['a', 'b', 'c', 'a', 'a'].map((x) => ({ x, ready: true })));
    // [a, b] not ready, retried; [c, a] meanwhile ('a' not cached); the retry of [a, b] finds 'a' accepted, sends 'b'; then 'c' again.
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a', 'b'], ['c', 'a'], ['b'], ['c']]);
    expect(cache.getMany(['a', 'b', 'c'])).toEqual(['a', 'b', 'c'].map((x) => ({ x, ready: true })));
    expect(metric(harness, 'retries')).toBe(2);
  });

  it('counts a retry the cache answers in full as no retry call: `retries` is what the service saw', async () => {
    const cache = new LruResultCache<Answer>({ maxEntries: 100, clock: new ManualClock(0) });
    const { fake, harness } = readinessHarness({ cache, maxAttempts: 3, readyAfter: 2, maxBatchSize: 1 });
    await harness.open();
    // The first 'a' is not ready and waits to retry; the second, sent meanwhile, is ready and cached; the retry finds it.
    harness.processElements(['a', 'a']);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([{ x: 'a', ready: true }, { x: 'a', ready: true }]);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a'], ['a']]);
    expect([metric(harness, 'batches'), metric(harness, 'retries'), metric(harness, 'cacheHits')]).toEqual([2, 0, 1]);
  });

  it('does not cache a rejected result emitted because no attempt was left: the next record of the key calls again', async () => {
    const cache = new LruResultCache<Answer>({ maxEntries: 100, clock: new ManualClock(0) });
    const { clock, fake, harness } = readinessHarness({ cache, maxAttempts: 2, readyAfter: 3, maxBatchSize: 1 });
    await harness.open();
    harness.processElement('a');
    await harness.drain();
    await harness.setProcessingTime(clock.now() + 100);
    expect(harness.getOutput()).toEqual([{ x: 'a', ready: false }]);
    expect(cache.size).toBe(0);
    harness.processElement('a');
    await harness.endInput();
    expect(harness.getOutput()).toEqual([
      { x: 'a', ready: false },
      { x: 'a', ready: true },
    ]);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a'], ['a'], ['a']]);
  });

  it('treats a held result the policy rejects as a miss (a shared cache written by another job): the key is sent, the answer stored', async () => {
    const held = new Map<string, Answer>([['a', { x: 'a', ready: false }]]);
    const shared: ResultCache<Answer> = {
      getMany: (keys) => keys.map((k) => held.get(k)),
      setMany: (entries) => {
        for (const [k, v] of entries) held.set(k, v);
      },
    };
    const { fake, harness } = readinessHarness({ cache: shared, maxAttempts: 3, readyAfter: 1 });
    await harness.open();
    harness.processElement('a');
    await harness.endInput();
    expect(harness.getOutput()).toEqual([{ x: 'a', ready: true }]);
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a']]);
    expect(held.get('a')).toEqual({ x: 'a', ready: true });
    expect([metric(harness, 'cacheHits'), metric(harness, 'cacheMisses')]).toEqual([0, 1]);
  });
  it('fails the job as without dedupe when retryOnResult throws, caching nothing', async () => {
    const cache = new LruResultCache<string>({ maxEntries: 10, clock: new ManualClock(0) });
    const retryOnResult = (): boolean => {
      throw new Error('predicate bug');
    };
    const { harness } = setup({ dedupe: { key: (x) => x, cache }, retry: RetryStrategies.fixedDelay({ maxAttempts: 2, delayMs: 1, retryOnResult }) });
    await harness.open();
    harness.processElements(['a', 'a']);
    await harness.setProcessingTime(20);
    expect((harness.failure as Error).message).toBe('predicate bug');
    expect(cache.size).toBe(0);
  });
});

describe('dedupe checks the answer against the inputs it sent', () => {
  /** A per-item function with a bug: two stray outputs after the right ones. */
  function strayHarness(options: Partial<Options>) {
    const clock = new ManualClock(0);
    const fake = new FakeBatchService<string, string>({ clock, handler: (xs) => [...xs.map((x) => x.toUpperCase()), 'STRAY', 'STRAY'] });
    const harness = new OneInputOperatorHarness<string, string>(
      asyncBatchOperatorFactory<string, string>((xs) => fake.call(xs), { maxBatchSize: 4, ordering: 'ordered', resultMode: 'per-item', ...options }),
      { clock, name: 'embed' },
    );
    return { fake, harness };
  }

  it('fails the call when the count matches the batch but not the inputs sent, naming the count sent', async () => {
    // 2 distinct keys sent, 4 outputs back: the batch's size, so only the count sent shows the answer is wrong.
    const { fake, harness } = strayHarness({ dedupe: { key: (x) => x } });
    await harness.open();
    harness.processElements(['a', 'a', 'b', 'b']);
    await harness.drain();
    expect(fake.calls.map((c) => c.inputs)).toEqual([['a', 'b']]);
    expect((harness.failure as Error).message).toBe(
      'a batch of 4 records failed after 1 attempt: in per-item mode the batch function must return one output per input: got 4 outputs for the 2 inputs it was sent (4 records, deduplicated by key)',
    );
    expect(harness.getOutput()).toEqual([]);
    // Like a wrong count without dedupe: a failure, not retried.
    expect([metric(harness, 'failures'), metric(harness, 'retries')]).toEqual([1, 0]);
  });

  it('counts the records the cache answered in the message', async () => {
    const cache = new LruResultCache<string>({ maxEntries: 10, clock: new ManualClock(0) });
    cache.setMany([['a', 'A']]);
    const { harness } = strayHarness({ dedupe: { key: (x) => x, cache }, retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 1 }) });
    await harness.open();
    harness.processElements(['a', 'b', 'a', 'c']);
    await harness.drain();
    expect((harness.failure as Error).message).toBe(
      'a batch of 4 records failed after 1 attempt: in per-item mode the batch function must return one output per input: got 4 outputs for the 2 inputs it was sent (4 records, deduplicated by key, 2 answered by the cache)',
    );
    expect(metric(harness, 'retries')).toBe(0);
  });
});

describe('dedupe across a restore', () => {
  it('answers every record exactly once when the job restores mid-batch, and a shared cache saves the calls already made', async () => {
    const cache = new LruResultCache<string>({ maxEntries: 100, clock: new ManualClock(0) });
    const input = ['a', 'b', 'a', 'c', 'b', 'd', 'a', 'e', 'c', 'f', 'a', 'b'];
    const first = setup({ maxInFlightBatches: 2, dedupe: { key: (x) => x, cache } });
    await first.harness.open();
    first.harness.processElements(input.slice(0, 4));
    await first.harness.setProcessingTime(5);
    first.harness.processElements(input.slice(4, 8));
    await first.harness.setProcessingTime(10); // the first batch answered, the second in flight
    expect(first.harness.getOutput()).toEqual(['A', 'B', 'A', 'C']);
    first.harness.processElements(input.slice(8, 10)); // open in a third batch
    const snapshot = first.harness.snapshot();
    const before = first.harness.getOutput();
    await first.harness.close();

    const second = setup({ maxInFlightBatches: 2, dedupe: { key: (x) => x, cache } });
    second.harness.initializeState(snapshot);
    await second.harness.open();
    second.harness.processElements(input.slice(10));
    await second.harness.endInput();
    expect([...before, ...second.harness.getOutput()]).toEqual(input.map((x) => x.toUpperCase()));
    // After the restore only keys never answered before are sent.
    expect(second.fake.calls.flatMap((c) => c.inputs).sort()).toEqual(['d', 'e', 'f']);
  });
});

describe('dedupe with a function or cache that misbehaves', () => {
  /** A cache in a Map, to see what reached it. */
  function mapCache(): { held: Map<string, string>; cache: ResultCache<string> } {
    const held = new Map<string, string>();
    return { held, cache: { getMany: (keys) => keys.map((k) => held.get(k)), setMany: (entries) => void entries.forEach(([k, v]) => held.set(k, v)) } };
  }

  function harnessOf(fn: Parameters<typeof asyncBatchOperatorFactory<string, string>>[0], options: Partial<Options>) {
    const clock = new ManualClock(0);
    const harness = new OneInputOperatorHarness<string, string>(
      asyncBatchOperatorFactory<string, string>(fn, { maxBatchSize: 2, maxBatchDelay: 5, ordering: 'ordered', resultMode: 'per-item', ...options }),
      { clock, name: 'embed' },
    );
    return { clock, harness };
  }

  it('caches only the completion that wins: a second one, or one after the time limit, reaches neither the output nor the cache', async () => {
    const { held, cache } = mapCache();
    const { harness } = harnessOf(
      {
        asyncInvokeBatch(xs: readonly string[], future: ResultFuture<string>) {
          future.complete(xs.map((x) => `good-${x}`));
          future.complete(xs.map((x) => `BAD-${x}`));
        },
      },
      { dedupe: { key: (x) => x, cache } },
    );
    await harness.open();
    harness.processElements(['a', 'b', 'a', 'b']);
    await harness.endInput();
    expect(harness.getOutput()).toEqual(['good-a', 'good-b', 'good-a', 'good-b']);
    expect([...held.values()]).toEqual(['good-a', 'good-b']);

    const late = mapCache();
    let answer: (() => void) | undefined;
    const timed = harnessOf(
      {
        asyncInvokeBatch(xs: readonly string[], future: ResultFuture<string>) {
          answer = () => future.complete(xs.map((x) => `late-${x}`));
        },
      },
      { timeout: 10, dedupe: { key: (x) => x, cache: late.cache } },
    );
    await timed.harness.open();
    timed.harness.processElements(['c', 'd']);
    await timed.harness.drain();
    await timed.harness.setProcessingTime(10);
    // The call timed out (failing the task, as it would without dedupe): its late answer must not serve later records.
    expect(timed.harness.failure).toBeDefined();
    answer?.();
    expect(late.held.size).toBe(0);
  });

  it('calls nothing when a lookup answers after the operator closed (a cancelled job)', async () => {
    let answer: ((values: (string | undefined)[]) => void) | undefined;
    const calls: string[][] = [];
    const { harness } = harnessOf(
      (xs) => {
        calls.push([...xs]);
        return xs.map((x) => x.toUpperCase());
      },
      {
        dedupe: {
          key: (x) => x,
          cache: { getMany: () => new Promise<(string | undefined)[]>((resolve) => (answer = resolve)), setMany: () => undefined },
        },
      },
    );
    await harness.open();
    harness.processElements(['a', 'b']);
    await harness.drain();
    await harness.close();
    answer?.([undefined, undefined]);
    await new Promise((resolve) => setImmediate(resolve));
    // The miss would have sent both records to the service (a paid request) for a job that had stopped.
    expect(calls).toEqual([]);
  });

  it('takes a lookup that answers no array for a failed one: counted, and every key sent', async () => {
    for (const getMany of [() => undefined, async () => undefined]) {
      const { harness } = harnessOf((xs) => xs.map((x) => x.toUpperCase()), {
        dedupe: { key: (x) => x, cache: { getMany: getMany as unknown as ResultCache<string>['getMany'], setMany: () => undefined } },
      });
      await harness.open();
      harness.processElements(['a', 'b', 'c']);
      await harness.endInput();
      expect(harness.getOutput()).toEqual(['A', 'B', 'C']);
      expect(metric(harness, 'cacheErrors')).toBe(2);
    }
  });

  it("fails the job naming 'dedupe.key' when it returns no string, instead of handing records each other's results", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    AsyncDataStream.orderedWaitBatch(
      env.fromElements({ id: 1 }, { id: 2 }),
      (docs: readonly { id: number }[]) => docs.map((d) => `out-${d.id}`),
      { maxBatchSize: 2, resultMode: 'per-item', dedupe: { key: (doc) => (doc as unknown as { docId: string }).docId } },
    ).addSink(() => undefined);
    await expect(env.execute('keys')).rejects.toThrow("option 'dedupe.key' must return a string for every record, got undefined");
  });
});

describe('dedupe options', () => {
  const where = "unorderedWaitBatch() ('UnorderedWaitBatch')";
  const fn = (xs: readonly string[]): string[] => [...xs];
  const cases: [string, Record<string, unknown>, string][] = [
    ['collect mode', { maxBatchSize: 2, dedupe: { key: String } }, "option 'dedupe' needs resultMode 'per-item'"],
    ['no key', { maxBatchSize: 2, resultMode: 'per-item', dedupe: {} }, "option 'dedupe.key' must be a function, got undefined"],
    ['a bad cache', { maxBatchSize: 2, resultMode: 'per-item', dedupe: { key: String, cache: { maxEntries: 0 } } }, "option 'dedupe.cache.maxEntries' must be an integer >= 1, got 0"],
    ['an unknown cache field', { maxBatchSize: 2, resultMode: 'per-item', dedupe: { key: String, cache: { size: 5 } } }, "unknown option 'dedupe.cache.size'"],
    ['a bad ttl', { maxBatchSize: 2, resultMode: 'per-item', dedupe: { key: String, cache: { maxEntries: 5, ttl: -1 } } }, "option 'dedupe.cache.ttl' must be a finite number of milliseconds > 0, got -1"],
    ['a null cache', { maxBatchSize: 2, resultMode: 'per-item', dedupe: { key: String, cache: null } }, "option 'dedupe.cache' must be an object, got null"],
    [
      'a cache without setMany',
      { maxBatchSize: 2, resultMode: 'per-item', dedupe: { key: String, cache: { getMany: () => [] } } },
      "option 'dedupe.cache' must be a ResultCache with both getMany() and setMany(), or { maxEntries, ttl? }: it has getMany() but no setMany()",
    ],
  ];
  it.each(cases)('%s', (_, given, message) => {
    const stream = StreamExecutionEnvironment.create().fromElements('x');
    const build = (): unknown => AsyncDataStream.unorderedWaitBatch(stream, fn, given as never);
    expect(build).toThrow(InvalidJobError);
    expect(build).toThrow(`${where}: ${message}`);
  });
});

describe('dedupe with outputs that carry their input', () => {
  it('makes each input\'s output from the shared result with withInput, for deduplicated and cached inputs alike', async () => {
    interface Doc {
      readonly id: number;
      readonly text: string;
    }
    const clock = new ManualClock(0);
    const fake = new FakeBatchService<Doc, { id: number; upper: string }>({ clock, handler: (docs) => docs.map((d) => ({ id: d.id, upper: d.text.toUpperCase() })) });
    const harness = new OneInputOperatorHarness<Doc, { id: number; upper: string }>(
      asyncBatchOperatorFactory<Doc, { id: number; upper: string }>((docs) => fake.callPerItem(docs), {
        maxBatchSize: 3,
        ordering: 'ordered',
        resultMode: 'per-item',
        dedupe: { key: (d) => d.text, cache: { maxEntries: 10 }, withInput: (result, d) => ({ ...result, id: d.id }) },
      }),
      { clock, name: 'embed' },
    );
    await harness.open();
    harness.processElements([
      { id: 1, text: 'a' },
      { id: 2, text: 'a' },
      { id: 3, text: 'b' },
      { id: 4, text: 'b' },
    ]);
    await harness.endInput();
    expect(harness.getOutput()).toEqual([
      { id: 1, upper: 'A' },
      { id: 2, upper: 'A' },
      { id: 3, upper: 'B' },
      { id: 4, upper: 'B' },
    ]);
    expect(fake.calls.map((c) => c.inputs.map((d) => d.id))).toEqual([[1, 3]]);
  });
});
