import { afterEach, describe, expect, it, vi } from 'vitest';
import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { openAIChat, OpenAIHttpError, OpenAIResponseError, type ChatCompletion } from '../src/index.js';
import { useFakeOpenAIServer } from './support/FakeOpenAIServer.js';

const server = useFakeOpenAIServer();
afterEach(() => {
  vi.restoreAllMocks();
});

const questions = Array.from({ length: 10 }, (_, i) => `question ${i}`);

/** Counts concurrent `fetch` calls at the call boundary, so the cap is checked without timing. */
function trackFetchConcurrency(): { readonly peak: () => number } {
  const original = globalThis.fetch;
  let inFlight = 0;
  let peak = 0;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
    peak = Math.max(peak, ++inFlight);
    try {
      return await original(...args);
    } finally {
      inFlight--;
    }
  });
  return { peak: () => peak };
}

describe('openAIChat', () => {
  it('sends one request per record', async () => {
    const chat = openAIChat<string>({
      baseUrl: server.baseUrl,
      apiKey: 'sk-chat',
      model: 'chat-small',
      system: 'Answer loudly.',
      text: (q) => q,
      body: { temperature: 0, max_tokens: 16 },
    });
    const answer = await chat('question 1');

    expect([answer.input, answer.content, answer.finishReason]).toEqual(['question 1', 'QUESTION 1', 'stop']);
    expect(answer.response.usage?.total_tokens).toBe(2);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body).toEqual({
      temperature: 0,
      max_tokens: 16,
      model: 'chat-small',
      messages: [
        { role: 'system', content: 'Answer loudly.' },
        { role: 'user', content: 'question 1' },
      ],
    });
    expect(server.requests[0]!.path).toBe('/v1/chat/completions');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-chat');
  });

  it('sends the conversation built by messages()', async () => {
    const chat = openAIChat<{ topic: string }>({
      baseUrl: server.baseUrl,
      model: 'm',
      messages: (r) => [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: `tell me about ${r.topic}` },
        { role: 'assistant', content: 'which part?' },
        { role: 'user', content: 'history' },
      ],
    });
    const answer = await chat({ topic: 'rivers' });
    expect(answer.content).toBe('HISTORY');
    expect(server.requests[0]!.body.messages).toHaveLength(4);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('in unorderedWait: capacity caps the requests in flight, and a failed request is retried alone', async () => {
    const tracked = trackFetchConcurrency();
    let failed = false;
    server.handle('/v1/chat/completions', (request) => {
      const content = String(request.body.messages![0]!.content);
      if (content === 'question 3' && !failed) {
        failed = true;
        return { status: 503, headers: { 'retry-after': '0' }, json: { error: { message: 'busy' } } };
      }
      return { json: { choices: [{ message: { role: 'assistant', content: content.toUpperCase() }, finish_reason: 'stop' }] } };
    });
    const env = StreamExecutionEnvironment.create();
    const answers: ChatCompletion<string>[] = [];
    AsyncDataStream.unorderedWait(env.fromCollection(questions), openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q }), {
      capacity: 3,
      retry: RetryStrategies.fixedDelay<ChatCompletion<string>>({ maxAttempts: 2, delayMs: 0 }),
    }).addSink((a) => void answers.push(a));
    await env.execute('chat job');

    expect(answers.map((a) => a.content).sort()).toEqual(questions.map((q) => q.toUpperCase()).sort());
    expect(tracked.peak()).toBeLessThanOrEqual(3);
    // Ten answers and one retry: no request that succeeded was sent again.
    const sent = server.requests.map((r) => String(r.body.messages![0]!.content));
    expect(sent).toHaveLength(11);
    expect(sent.filter((q) => q === 'question 3')).toHaveLength(2);
  });

  it('fails with the error of its request', async () => {
    server.next('/v1/chat/completions', { status: 400, json: { error: { message: 'content policy' } } });
    const error = await openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q })('bad').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAIHttpError);
    expect(error).toMatchObject({ status: 400, retryable: false, serverMessage: 'content policy' });
  });

  it('aborts the request when ctx.signal aborts', async () => {
    server.handle('/v1/chat/completions', () => 'hang');
    const controller = new AbortController();
    const call = openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q })('x', { signal: controller.signal });
    await server.waitForRequests(1);
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await server.waitForAbandoned(1);
  });

  it('fails on an answer without a message', async () => {
    server.next('/v1/chat/completions', { json: { choices: [] } });
    const error = await openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q })('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAIResponseError);
    expect((error as Error).message).toMatch(/expected 'choices\[0\]\.message\.content' to be a string or null/);
  });

  it('rejects bad options when it is created, naming them', () => {
    const text = (q: string) => q;
    expect(() => openAIChat<string>({ model: '', text })).toThrow(/openAIChat: option 'model' must be a non-empty string/);
    expect(() => openAIChat<string>({ model: 'm', text, body: { stream: true } })).toThrow(/must not set 'stream'/);
    expect(() => openAIChat<string>({ model: 'm' } as never)).toThrow(/option 'text' or 'messages' is required/);
    expect(() => openAIChat<string>({ model: 'm', text, messages: () => [] } as never)).toThrow(/give either 'messages' or 'text'/);
    expect(() => openAIChat<string>({ model: 'm', text, system: '' })).toThrow(/option 'system' must be a non-empty string/);
  });
});
