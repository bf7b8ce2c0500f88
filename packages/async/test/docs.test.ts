// The examples of docs/async-batching.md. Each `#region` below appears verbatim in the guide
// (the last test checks it), so the guide shows code that compiles and runs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OutputTag, StreamExecutionEnvironment } from '@tributary/core';
import { FakeBatchService, ManualClock, OneInputOperatorHarness, collect, runJobToCompletion } from '@tributary/testing';
import { expectBatches } from '@tributary/testing/vitest';
import {
  AsyncDataStream,
  RetryStrategies,
  ThrottledError,
  asyncBatchOperatorFactory,
  type AsyncFunction,
  type BatchContext,
  type DeadLetter,
} from '../src/index.js';

/** Stands in for a real embeddings client: 10 ms + 0.05 ms per text, 4 calls at once. */
function embeddingsClient(clock: ManualClock) {
  const service = new FakeBatchService<string, number[]>({
    clock,
    handler: (texts) => texts.map((t) => [t.length, t.split(' ').length]),
    latency: { baseMs: 10, perItemMs: 0.05 },
    concurrency: 4,
    failRecords: (t) => t.includes('\u0000'),
  });
  return { service, embed: (texts: readonly string[], options: { signal: AbortSignal }) => service.call(texts, options) };
}

describe('docs/async-batching.md examples', () => {
  it('quick start', async () => {
    const clock = new ManualClock(0);
    const { service, embed: clientEmbed } = embeddingsClient(clock);
    const client = { embed: clientEmbed };
    const env = StreamExecutionEnvironment.create({ clock });
    const texts = env.fromElements('hello world', 'bad \u0000 text', 'streams are fun');
    // #region quick-start
    const failed = new OutputTag<DeadLetter<string>>('embedding-failures');

    const vectors = AsyncDataStream.unorderedWaitBatch(
      texts,
      (batch, { signal }) => client.embed(batch, { signal }), // one call per batch, aborted on timeout or cancel
      {
        maxBatchSize: 64, // at most 64 texts per call
        maxBatchDelay: 5, // a batch waits at most 5 ms for more texts
        maxInFlightBatches: 4, // the service serves 4 calls at once
        timeout: 2_000,
        retry: RetryStrategies.exponentialBackoff({ maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0.5 }),
        splitOnFailure: true, // isolate the record that breaks a batch
        onFailure: { deadLetter: failed },
      },
    )
      .name('embed')
      .uid('embed-v1');

    vectors.getSideOutput(failed).map((letter) => `could not embed ${JSON.stringify(letter.input)}: ${String(letter.error)}`);
    // #endregion quick-start
    const out = collect(vectors);
    const dead = collect(vectors.getSideOutput(failed));
    await runJobToCompletion(env.executeAsync('quick start'), clock);
    expect(out.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [11, 2],
      [15, 3],
    ]);
    expect(dead.map((d) => d.input)).toEqual(['bad \u0000 text']);
    // Each failing batch is tried 3 times, then split: [3] x3, [2] x3, [1] ok, [1] ok, [1] x3.
    expect(service.batchSizes().sort()).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  });

  it('token budget and a batch per model', async () => {
    const clock = new ManualClock(0);
    const calls: { model: string; prompts: string[] }[] = [];
    const llm = {
      complete: (model: string, prompts: readonly string[], _signal: AbortSignal) => {
        calls.push({ model, prompts: [...prompts] });
        return Promise.resolve(prompts.map((p) => `${model}: ${p.length}`));
      },
    };
    const countTokens = (text: string): number => text.split(' ').length;
    const env = StreamExecutionEnvironment.create({ clock });
    const requests = env.fromElements(
      { model: 'small', prompt: 'one two three' },
      { model: 'large', prompt: 'four five' },
      { model: 'small', prompt: 'six seven eight nine' },
      { model: 'small', prompt: 'ten' },
    );
    // #region token-budget
    const answers = AsyncDataStream.unorderedWaitBatch(
      requests,
      (batch, { signal }) => llm.complete(batch[0]!.model, batch.map((r) => r.prompt), signal),
      {
        maxBatchSize: 32,
        maxBatchWeight: 6, // tokens per call (vLLM's max_num_batched_tokens)
        weigher: (r) => countTokens(r.prompt),
        batchKey: (r) => r.model, // one open batch per model, each with its own timer
        maxBatchDelay: 20,
      },
    );
    // #endregion token-budget
    const out = collect(answers);
    await runJobToCompletion(env.executeAsync('tokens'), clock);
    // 3 + 4 tokens would exceed the budget of 6, so the first small prompt goes alone; 4 + 1 fit.
    expect(calls).toEqual([
      { model: 'small', prompts: ['one two three'] },
      { model: 'large', prompts: ['four five'] },
      { model: 'small', prompts: ['six seven eight nine', 'ten'] },
    ]);
    expect(out).toHaveLength(4);
  });

  it('per-item results and throttling', async () => {
    const clock = new ManualClock(0);
    let first = true;
    const api = {
      // Answers one status per item; the first call is rate limited.
      score: (ids: readonly number[], _signal: AbortSignal) =>
        Promise.resolve(
          first
            ? ((first = false), { status: 429, retryAfterSeconds: 1, items: [] })
            : { status: 200, retryAfterSeconds: 0, items: ids.map((id) => (id % 5 === 0 ? { error: `no score for ${id}` } : { score: id / 10 })) },
        ),
    };
    const env = StreamExecutionEnvironment.create({ clock });
    const ids = env.fromCollection([1, 2, 3, 4, 5, 6]);
    const rejected = new OutputTag<DeadLetter<number>>('rejected');
    // #region per-item
    async function score(ids: readonly number[], { signal }: BatchContext): Promise<(number | Error)[]> {
      const response = await api.score(ids, signal);
      if (response.status === 429) throw new ThrottledError('rate limited', response.retryAfterSeconds * 1000);
      return response.items.map((item) => ('error' in item ? new Error(item.error) : item.score));
    }

    const scores = AsyncDataStream.orderedWaitBatch(ids, score, {
      maxBatchSize: 100,
      maxBatchDelay: 10,
      maxInFlightBatches: 8, // halved on every throttled call, grown back by one per round of successes
      resultMode: 'per-item', // an Error at i fails ids[i] only; only failed items are retried
      retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 200 }),
      onFailure: { deadLetter: rejected },
    });
    // #endregion per-item
    const out = collect(scores);
    const dead = collect(scores.getSideOutput(rejected));
    const result = await runJobToCompletion(env.executeAsync('scores'), clock);
    expect(out).toEqual([0.1, 0.2, 0.3, 0.4, 0.6]);
    expect(dead.map((d) => [d.input, d.attempts])).toEqual([[5, 3]]);
    // End of input sends the open batch at once; the throttled retry keeps its 1 s wait; the item retries then go at once.
    expect(result.runtimeMs).toBe(1_000);
  });

  it('per-record lookups with a timeout fallback', async () => {
    const clock = new ManualClock(0);
    const cache = {
      get: (key: string, _signal: AbortSignal) =>
        key === 'slow' ? new Promise<string>(() => undefined) : Promise.resolve(`value of ${key}`),
    };
    const env = StreamExecutionEnvironment.create({ clock });
    const keys = env.fromElements('a', 'slow', 'b');
    // #region per-record
    const lookup: AsyncFunction<string, string> = {
      async asyncInvoke(key, resultFuture, { signal }) {
        resultFuture.complete([await cache.get(key, signal)]);
      },
      timeout(key, resultFuture) {
        resultFuture.complete([`default for ${key}`]); // Flink's timeout() override
      },
    };
    const values = AsyncDataStream.orderedWait(keys, lookup, { timeout: 50, capacity: 100 });
    // #endregion per-record
    const out = collect(values);
    await runJobToCompletion(env.executeAsync('lookups'), clock);
    expect(out).toEqual(['value of a', 'default for slow', 'value of b']);
  });

  it('testing with the harness', async () => {
    // #region harness
    const clock = new ManualClock(0);
    const service = new FakeBatchService<number, number>({
      clock,
      handler: (xs) => xs.map((x) => x * 10),
      latency: { baseMs: 10, perItemMs: 1 },
    });
    const harness = new OneInputOperatorHarness<number, number>(
      asyncBatchOperatorFactory<number, number>((xs, { signal }) => service.call(xs, { signal }), { maxBatchSize: 3, maxBatchDelay: 50 }),
      { clock },
    );
    await harness.open();
    harness.processElements([1, 2, 3, 4]); // [1, 2, 3] goes at once
    await harness.setProcessingTime(50); // [4] goes 50 ms after it arrived
    await harness.endInput();
    expectBatches(service, [[1, 2, 3], [4]]);
    expect(harness.getOutput()).toEqual([10, 20, 30, 40]);
    // #endregion harness
  });

  // 3,000 records under the ManualClock: seconds on a loaded machine, not a wait on time.
  it('adaptive batching', { timeout: 60_000 }, async () => {
    const clock = new ManualClock(0);
    const { service, embed: clientEmbed } = embeddingsClient(clock);
    const client = { embed: clientEmbed };
    const env = StreamExecutionEnvironment.create({ clock });
    const texts = env.fromCollection(Array.from({ length: 3000 }, (_, i) => `text ${i}`));
    // #region adaptive
    const vectors = AsyncDataStream.unorderedWaitBatch(texts, (batch, { signal }) => client.embed(batch, { signal }), {
      maxBatchSize: 512, // never more per call
      maxBatchDelay: 50, // never a longer wait (required with adaptive)
      maxInFlightBatches: 4,
      adaptive: { targetLatency: 250 }, // p95 from arrival to emit, ms; or `adaptive: true`
    });
    // #endregion adaptive
    const out = collect(vectors);
    await runJobToCompletion(env.executeAsync('adaptive'), clock);
    expect(out).toHaveLength(3000);
    // From a first guess of 8, the sizes grow toward the bound: 10 ms of overhead dwarfs 0.05 ms a text.
    const sizes = service.batchSizes();
    expect(sizes[0]).toBe(8);
    expect(Math.max(...sizes)).toBeGreaterThan(256);
  });

  it('dedupe', async () => {
    const clock = new ManualClock(0);
    const { service, embed: clientEmbed } = embeddingsClient(clock);
    const client = { embed: clientEmbed };
    const env = StreamExecutionEnvironment.create({ clock });
    const texts = env.fromElements('buy now', 'fresh bread', 'buy now', 'buy now', 'fresh bread', 'new');
    // #region dedupe
    const vectors = AsyncDataStream.orderedWaitBatch(texts, (batch, { signal }) => client.embed(batch, { signal }), {
      maxBatchSize: 64,
      maxBatchDelay: 10,
      resultMode: 'per-item', // one vector per text, so each repeat gets its own
      dedupe: { key: (text) => text, cache: { maxEntries: 100_000, ttl: 3_600_000 } },
    });
    // #endregion dedupe
    const out = collect(vectors);
    await runJobToCompletion(env.executeAsync('dedupe'), clock);
    expect(out).toEqual([[7, 2], [11, 2], [7, 2], [7, 2], [11, 2], [3, 1]]);
    expect(service.calls.map((c) => c.inputs)).toEqual([['buy now', 'fresh bread', 'new']]);
  });

  it('the guide shows these regions verbatim', () => {
    const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const guide = readFileSync(fileURLToPath(new URL('../../../docs/async-batching.md', import.meta.url)), 'utf8');
    // A block opens with its imports (and comments on them), which this file has at its top: compare what follows.
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/^(?:(?:\/\/.*|import [\s\S]*?;)\n)+\n/, ''));
    const regions = [...source.matchAll(/ *\/\/ #region (\S+)\n([\s\S]*?) *\/\/ #endregion/g)].map((m) => ({
      name: m[1] as string,
      code: dedent(m[2] as string),
    }));
    expect(regions.map((r) => r.name)).toEqual(['quick-start', 'token-budget', 'per-item', 'per-record', 'harness', 'adaptive', 'dedupe']);
    expect(blocks).toHaveLength(regions.length);
    for (const region of regions) expect(blocks, `region ${region.name}`).toContain(region.code);
  });
});

function dedent(code: string): string {
  const lines = code.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}
