import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIChat, openAIEmbeddings, OpenAIRedirectError, type Embedding } from '../src/index.js';
import { trigramEmbedding, useFakeOpenAIServer } from './support/FakeOpenAIServer.js';

// Two servers on two ports of 127.0.0.1: two origins.
const server = useFakeOpenAIServer();
const elsewhere = useFakeOpenAIServer();

const KEY = 'sk-KEY-0123456789';
const embed = () => openAIEmbeddings<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, apiKey: KEY, headers: { 'x-api-key': 'cred-SECRET' } });
const redirect = (status: number, location: string) => ({ status, headers: { location } });

describe('redirects', () => {
  it('does not follow a 307 to another origin: nothing reaches it, and the error names that origin', async () => {
    const origin = new URL(elsewhere.baseUrl).origin;
    server.next('/v1/embeddings', redirect(307, `${origin.replace('//', '//user:pw-SECRET@')}/v1/embeddings?key=abc`));

    const error = await embed()(['private document']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAIRedirectError);
    expect(error).toMatchObject({ status: 307, location: origin, retryable: false, url: `${server.baseUrl}/embeddings` });
    expect((error as Error).message).toBe(
      `POST ${server.baseUrl}/embeddings answered 307, a redirect to ${origin}: not followed, it is another origin: ` +
        'the request (documents, API key, headers) was not sent there; point baseUrl at that server if you trust it',
    );
    expect(elsewhere.requests).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
  });

  it('does not follow a 308 from the chat function to another origin either', async () => {
    server.next('/v1/chat/completions', redirect(308, `${elsewhere.baseUrl}/chat/completions`));
    const chat = openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, headers: { 'x-api-key': 'cred-SECRET' } });
    await expect(chat('hello')).rejects.toThrow(/answered 308, a redirect to http:\/\/127\.0\.0\.1:\d+: not followed, it is another origin/);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it.each([307, 308])('follows a same-origin %i with the same body and headers', async (status) => {
    server.next('/v1/embeddings', redirect(status, '/v1/embeddings'));
    const out = await embed()(['a', 'b']);
    expect(out.map((e) => e.embedding)).toEqual([trigramEmbedding('a', 8), trigramEmbedding('b', 8)]);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(second!.body).toEqual(first!.body);
    expect(second!.headers['x-api-key']).toBe('cred-SECRET');
    expect(second!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it.each([301, 302, 303])('does not follow a same-origin %i, which would turn the POST into a GET', async (status) => {
    server.next('/v1/embeddings', redirect(status, '/v1/embeddings'));
    await expect(embed()(['a'])).rejects.toThrow(
      new OpenAIRedirectError(`${server.baseUrl}/embeddings`, status, `${server.baseUrl}/embeddings`, `a ${status} would turn the POST into a GET; point baseUrl at the final URL`),
    );
    expect(server.requests).toHaveLength(1);
  });

  it('does not follow a Location that is not a URL', async () => {
    server.next('/v1/embeddings', redirect(307, 'http://[::1'));
    await expect(embed()(['a'])).rejects.toThrow(
      new OpenAIRedirectError(`${server.baseUrl}/embeddings`, 307, 'a location that is not a URL', 'point baseUrl at the final URL'),
    );
  });

  it('stops after 5 redirects in a row', async () => {
    server.handle('/v1/embeddings', () => redirect(307, '/v1/embeddings'));
    await expect(embed()(['a'])).rejects.toThrow(/answered 307, a redirect to http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings: not followed, after 5 redirects in a row/);
    expect(server.requests).toHaveLength(6);
  });

  it('fails the job naming the operator, without retrying, when the embeddings endpoint redirects to another origin', async () => {
    server.handle('/v1/embeddings', () => redirect(307, `${elsewhere.baseUrl}/embeddings`));
    const env = StreamExecutionEnvironment.create();
    AsyncDataStream.unorderedWaitBatch(env.fromCollection(['a', 'b', 'c']), embed(), {
      maxBatchSize: 3,
      retry: RetryStrategies.fixedDelay<Embedding<string>>({ maxAttempts: 3, delayMs: 0 }),
    })
      .name('embed')
      .addSink(() => undefined);

    await expect(env.execute('redirected')).rejects.toThrow(
      /^Job 'redirected' failed in operator 'embed': a batch of 3 records failed after 1 attempt: POST \S+ answered 307, a redirect to http:\/\/127\.0\.0\.1:\d+: not followed/,
    );
    expect(server.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });
});
