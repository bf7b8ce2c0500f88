import { afterEach, describe, expect, it, vi } from 'vitest';
import { openAIChat, OpenAIHttpError, OpenAIResponseError } from '../src/index.js';
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
  it('sends one request per record and returns the answers in input order', async () => {
    const chat = openAIChat<string>({
      baseUrl: server.baseUrl,
      apiKey: 'sk-chat',
      model: 'chat-small',
      system: 'Answer loudly.',
      text: (q) => q,
      body: { temperature: 0, max_tokens: 16 },
    });
    const out = await chat(questions);

    expect(out.map((o) => [o.input, o.content, o.finishReason])).toEqual(questions.map((q) => [q, q.toUpperCase(), 'stop']));
    expect(out[0]!.response.usage?.total_tokens).toBe(2);
    expect(server.requests).toHaveLength(questions.length);
    const bodies = server.requests.map((r) => r.body);
    expect(bodies.map((b) => b.messages![1]!.content).sort()).toEqual([...questions].sort());
    expect(bodies[0]).toEqual({
      temperature: 0,
      max_tokens: 16,
      model: 'chat-small',
      messages: [
        { role: 'system', content: 'Answer loudly.' },
        { role: 'user', content: bodies[0]!.messages![1]!.content },
      ],
    });
    expect(server.requests.every((r) => r.path === '/v1/chat/completions' && r.headers.authorization === 'Bearer sk-chat')).toBe(true);
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
    const [answer] = await chat([{ topic: 'rivers' }]);
    expect(answer!.content).toBe('HISTORY');
    expect(server.requests[0]!.body.messages).toHaveLength(4);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('keeps at most maxConcurrency requests in flight within a call', async () => {
    const tracked = trackFetchConcurrency();
    await openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q, maxConcurrency: 3 })(questions);
    expect(tracked.peak()).toBe(3);
    expect(server.requests).toHaveLength(10);

    vi.restoreAllMocks();
    const uncapped = trackFetchConcurrency();
    await openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q, maxConcurrency: 100 })(questions);
    expect(uncapped.peak()).toBe(10);
  });

  it('fails the call on the first failing request and aborts the others', async () => {
    const batch = ['a', 'b', 'bad', 'c', 'd'];
    server.handle('/v1/chat/completions', async (request) => {
      if (request.body.messages![0]!.content !== 'bad') return 'hang';
      // Answer only once every request of the batch is in flight, so the abort has four to cancel.
      await server.waitForRequests(batch.length);
      return { status: 400, json: { error: { message: 'content policy' } } };
    });
    const error = await openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q, maxConcurrency: 5 })(batch).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAIHttpError);
    expect(error).toMatchObject({ status: 400, retryable: false, serverMessage: 'content policy' });
    await server.waitForAbandoned(4);
    expect(server.abandoned).toBe(4);
  });

  it('aborts every request of the call when ctx.signal aborts', async () => {
    server.handle('/v1/chat/completions', () => 'hang');
    const controller = new AbortController();
    const call = openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q, maxConcurrency: 3 })(questions, {
      signal: controller.signal,
    });
    await server.waitForRequests(3);
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await server.waitForAbandoned(3);
    // The queued records never went out.
    expect(server.requests).toHaveLength(3);
  });

  it('fails on an answer without a message', async () => {
    server.next('/v1/chat/completions', { json: { choices: [] } });
    const error = await openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (q) => q })(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAIResponseError);
    expect((error as Error).message).toMatch(/expected 'choices\[0\]\.message\.content' to be a string or null/);
  });

  it('rejects bad options when it is created, naming them', () => {
    const text = (q: string) => q;
    expect(() => openAIChat<string>({ model: 'm', text, maxConcurrency: 0 })).toThrow(/openAIChat: option 'maxConcurrency' must be an integer >= 1, got 0/);
    expect(() => openAIChat<string>({ model: 'm', text, body: { stream: true } })).toThrow(/must not set 'stream'/);
    expect(() => openAIChat<string>({ model: 'm' } as never)).toThrow(/option 'text' or 'messages' is required/);
    expect(() => openAIChat<string>({ model: 'm', text, messages: () => [] } as never)).toThrow(/give either 'messages' or 'text'/);
    expect(() => openAIChat<string>({ model: 'm', text, system: '' })).toThrow(/option 'system' must be a non-empty string/);
  });
});
