import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIChat, openAIEmbeddings, tokenWeigher, type Embedding } from '../src/index.js';
import { useFakeOpenAIServer, trigramEmbedding, type EmbeddingsAnswer } from './support/FakeOpenAIServer.js';

const server = useFakeOpenAIServer();

describe('openAIEmbeddings in AsyncDataStream.unorderedWaitBatch', () => {
  it('embeds every record once, through a 429 that the operator waits out and retries', async () => {
    // `Retry-After: 0` keeps the job free of real waits; the throttling path is the same for any value.
    server.next('/v1/embeddings', { status: 429, headers: { 'retry-after': '0' }, json: { error: { message: 'slow down' } } });
    const texts = Array.from({ length: 25 }, (_, i) => `record number ${i}`);
    const env = StreamExecutionEnvironment.create();
    const embedded: Embedding<string>[] = [];
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), openAIEmbeddings({ baseUrl: server.baseUrl, model: 'm', text: (t: string) => t }), {
      maxBatchSize: 8,
      maxInFlightBatches: 2,
      // The type argument: without it the strategy's `unknown` wins the inference of the output type.
      retry: RetryStrategies.fixedDelay<Embedding<string>>({ maxAttempts: 3, delayMs: 0 }),
    })
      .name('embed')
      .addSink((e) => void embedded.push(e));

    const result = await env.execute('embed job');

    expect(embedded.map((e) => e.input).sort()).toEqual([...texts].sort());
    for (const e of embedded) expect(e.embedding).toEqual(trigramEmbedding(e.input, 8));
    // Five requests: four batches (8, 8, 8, 1) and the retry of the throttled one, with the same inputs.
    const inputs = server.requests.map((r) => r.body.input!);
    expect(inputs.map((i) => i.length).sort()).toEqual([1, 8, 8, 8, 8]);
    expect(inputs.slice(1).flat().sort()).toEqual([...texts].sort());
    expect(inputs.slice(1).some((i) => JSON.stringify(i) === JSON.stringify(inputs[0]))).toBe(true);
    const metric = (name: string) => result.metrics[`job.embed job.operator.embed.0.${name}`];
    expect(metric('throttled')).toBe(1);
    expect(metric('retries')).toBe(1);
  });

  it('keeps each request under a token budget with tokenWeigher', async () => {
    // 12 texts of 40 characters: 10 estimated tokens each, so a 35-token budget holds 3 per request.
    const texts = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(38)}`);
    const env = StreamExecutionEnvironment.create();
    const text = (t: string) => t;
    const out = await AsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), openAIEmbeddings({ baseUrl: server.baseUrl, model: 'm', text }), {
      maxBatchSize: 100,
      maxBatchWeight: 35,
      weigher: tokenWeigher(text),
    }).executeAndCollect('budget');

    expect(out).toHaveLength(12);
    expect(server.requests.map((r) => r.body.input!.length)).toEqual([3, 3, 3, 3]);
  });

  it('counts the token usage the server reports as the operator\'s metrics, and nothing when it reports none', async () => {
    // Tokens as a real server counts them: one per word of the batch.
    server.handle('/v1/embeddings', (request, normal) => {
      const tokens = (request.body.input ?? []).join(' ').split(' ').length;
      return { json: { ...(normal() as EmbeddingsAnswer), usage: { prompt_tokens: tokens, total_tokens: tokens } } };
    });
    server.next('/v1/embeddings', (_, normal) => ({ json: { ...normal(), usage: undefined } }));
    const texts = Array.from({ length: 10 }, (_, i) => `three words ${i}`);
    const env = StreamExecutionEnvironment.create();
    AsyncDataStream.orderedWaitBatch(env.fromCollection(texts), openAIEmbeddings({ baseUrl: server.baseUrl, model: 'm', text: (t: string) => t }), { maxBatchSize: 4 })
      .name('embed')
      .addSink(() => undefined);
    const result = await env.execute('usage');
    const metric = (name: string) => result.metrics[`job.usage.operator.embed.0.${name}`];
    // Three batches (4, 4, 2); the first answer has no usage.
    expect(server.requests).toHaveLength(3);
    expect([metric('promptTokens'), metric('totalTokens'), metric('completionTokens')]).toEqual([18, 18, undefined]);
  });

  it('counts chat completions\' prompt, completion and total tokens', async () => {
    const env = StreamExecutionEnvironment.create();
    AsyncDataStream.unorderedWait(env.fromCollection(['a', 'b', 'c']), openAIChat({ baseUrl: server.baseUrl, model: 'm', text: (t: string) => t }), { capacity: 2 })
      .name('chat')
      .addSink(() => undefined);
    const result = await env.execute('chat usage');
    const metric = (name: string) => result.metrics[`job.chat usage.operator.chat.0.${name}`];
    // The fake answers each request with 1 prompt and 1 completion token.
    expect([metric('promptTokens'), metric('completionTokens'), metric('totalTokens')]).toEqual([3, 3, 6]);
  });
});
