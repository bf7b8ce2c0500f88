import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIChat, openAIEmbeddings, OpenAIHttpError, OpenAIResponseError, type EmbeddingsOptions } from '../src/index.js';
import { useFakeOpenAIServer } from './support/FakeOpenAIServer.js';

const server = useFakeOpenAIServer();

const MiB = 1024 * 1024;
const embed = (options: Partial<Omit<EmbeddingsOptions<string>, 'float32'>> = {}) => openAIEmbeddings<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, ...options });

describe('response size limits', () => {
  // Read whole, this body grew the process by 1.5 GB in 7 s; the call never settled.
  it('stops reading an endless 2xx body at maxResponseBytes and drops the connection', async () => {
    server.next('/v1/embeddings', { endless: ' '.repeat(64 * 1024) });

    const error = await embed({ maxResponseBytes: MiB })(['a']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAIResponseError);
    expect(error).toMatchObject({ retryable: false, body: undefined });
    expect((error as Error).message).toBe(
      `POST ${server.baseUrl}/embeddings answered with an unusable response: the body (more than ${MiB} bytes) is larger than maxResponseBytes (${MiB}), ` +
        "so it was not read further: raise 'maxResponseBytes' or send smaller batches",
    );
    // The client closed the connection: the server stops writing. What it wrote is the limit plus what the sockets buffer.
    await server.waitForAbandoned(1);
    expect(server.endlessBytes).toBeLessThan(MiB + 32 * MiB);
  });

  it('fails at once when the Content-Length is over the limit, and reads a body of exactly the limit', async () => {
    const answer = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] });
    const bytes = Buffer.byteLength(answer);
    const reply = { text: answer, headers: { 'content-length': String(bytes) } };
    const chat = (maxResponseBytes: number) => openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, maxResponseBytes });

    server.next('/v1/chat/completions', reply);
    expect((await chat(bytes)('x')).content).toBe('hi');
    server.next('/v1/chat/completions', reply);
    await expect(chat(bytes - 1)('x')).rejects.toThrow(`the body (${bytes} bytes) is larger than maxResponseBytes (${bytes - 1})`);
  });

  // The timeout bounds a hang on a busy machine (the server writes 20 MB); nothing here is timed.
  it('quotes a few KB of a 20 MB error body, with its size, and keeps at most 64 KiB of it', { timeout: 30_000 }, async () => {
    const size = 20 * MiB;
    server.next('/v1/embeddings', { status: 502, text: `Bad gateway: ${'x'.repeat(size - 13)}`, headers: { 'content-length': String(size) } });

    const error = await embed()(['a']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAIHttpError);
    const { message, serverMessage, body, retryable } = error as OpenAIHttpError;
    expect(retryable).toBe(true);
    expect(serverMessage).toBe(`Bad gateway: ${'x'.repeat(987)}... (cut; the body was ${size} bytes)`);
    expect(message).toBe(`POST ${server.baseUrl}/embeddings answered 502: ${serverMessage}`);
    expect(body).toHaveLength(64 * 1024);
  });

  it('stops reading an endless error body after 64 KiB', async () => {
    server.next('/v1/embeddings', { status: 500, endless: '{"error": "overloaded", "detail": "' });

    const error = await embed()(['a']).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAIHttpError);
    expect((error as OpenAIHttpError).serverMessage).toMatch(/^\{"error": "overloaded", .{900,}\.\.\. \(cut; the body was more than 65536 bytes\)$/);
    await server.waitForAbandoned(1);
  });

  it('keeps a whole small JSON error body and its server message', async () => {
    const json = { error: { message: 'model not found', code: 'model_not_found' } };
    server.next('/v1/embeddings', { status: 404, json });
    await expect(embed({ maxResponseBytes: 1 })(['a'])).rejects.toMatchObject({ status: 404, serverMessage: 'model not found' });
    server.next('/v1/embeddings', { status: 404, json });
    await expect(embed()(['a'])).rejects.toMatchObject({ status: 404, serverMessage: 'model not found', body: json });
  });

  it.each([0, -1, 1.5, Number.POSITIVE_INFINITY, '1024'])('rejects maxResponseBytes %s when the function is created', (maxResponseBytes) => {
    expect(() => embed({ maxResponseBytes: maxResponseBytes as number })).toThrow(InvalidJobError);
    expect(() => embed({ maxResponseBytes: maxResponseBytes as number })).toThrow(/^openAIEmbeddings: option 'maxResponseBytes' must be an integer (>= 1|<= 9007199254740991), got /);
  });
});
