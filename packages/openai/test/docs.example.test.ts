import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { openAIEmbeddings, tokenWeigher, type Embedding } from '@tributary/openai';

interface Doc {
  readonly id: string;
  readonly body: string;
}

export async function embedDocuments(docs: Iterable<Doc>, baseUrl = 'https://api.openai.com/v1') {
  const env = StreamExecutionEnvironment.create();
  const text = (doc: Doc) => doc.body;
  const embed = openAIEmbeddings({
    baseUrl,
    apiKey: process.env.OPENAI_API_KEY,
    model: 'text-embedding-3-small',
    dimensions: 256,
    text,
  });
  return AsyncDataStream.unorderedWaitBatch(env.fromCollection(docs), embed, {
    maxBatchSize: 256, // OpenAI takes up to 2048 inputs per request...
    maxBatchWeight: 200_000, // ...and 300k tokens: budget under it, tokens are estimated
    weigher: tokenWeigher(text),
    maxBatchDelay: 50,
    maxInFlightBatches: 4,
    // 429 and 503 wait for Retry-After and lower the concurrency; 5xx back off; other 4xx fail at once.
    retry: RetryStrategies.exponentialBackoff<Embedding<Doc>>({ maxAttempts: 6, initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0.5 }),
  })
    .name('embed')
    .map(({ input, embedding }) => ({ id: input.id, embedding }))
    .executeAndCollect('embed documents');
}

import { describe, expect, it } from 'vitest';
import { useFakeOpenAIServer, trigramEmbedding } from './support/FakeOpenAIServer.js';

const server = useFakeOpenAIServer();

describe('the @tributary/openai example of docs/adapters.md', () => {
  it('runs against an OpenAI-compatible server', async () => {
    const docs = Array.from({ length: 40 }, (_, i) => ({ id: `doc-${i}`, body: `document ${i} is about rivers` }));
    const out = await embedDocuments(docs, server.baseUrl);

    expect(out.map((o) => o.id).sort()).toEqual(docs.map((d) => d.id).sort());
    for (const { id, embedding } of out) expect(embedding).toEqual(trigramEmbedding(docs.find((d) => d.id === id)!.body, 256));
    expect(server.requests.every((r) => r.body.model === 'text-embedding-3-small' && r.body.dimensions === 256)).toBe(true);
  });

});
