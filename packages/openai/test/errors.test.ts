import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { OpenAIConnectionError, openAIEmbeddings, OpenAIHttpError } from '../src/index.js';
import { parseRetryAfter } from '../src/internal/retryAfter.js';
import { useFakeOpenAIServer, type Reply } from './support/FakeOpenAIServer.js';

const server = useFakeOpenAIServer();

const embed = (options: { defaultRetryAfterMs?: number; maxRetryAfterMs?: number; baseUrl?: string } = {}) =>
  openAIEmbeddings<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, ...options });

async function failureOf(reply: Reply, options?: Parameters<typeof embed>[0]): Promise<OpenAIHttpError> {
  server.next('/v1/embeddings', reply);
  const error = await embed(options)(['a', 'b']).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAIHttpError);
  return error as OpenAIHttpError;
}

const rateLimited = { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } };

describe('HTTP errors', () => {
  it('maps 429 with Retry-After seconds to a throttling error', async () => {
    const error = await failureOf({ status: 429, headers: { 'retry-after': '3' }, json: rateLimited });
    expect(error).toMatchObject({ status: 429, retryAfterMs: 3000, retryable: true, serverMessage: 'Rate limit reached for requests', body: rateLimited });
    expect(error.message).toBe(`POST ${server.baseUrl}/embeddings answered 429: Rate limit reached for requests`);
  });

  it("prefers OpenAI's retry-after-ms header", async () => {
    const error = await failureOf({ status: 429, headers: { 'retry-after-ms': '250', 'retry-after': '1' }, json: rateLimited });
    expect(error.retryAfterMs).toBe(250);
  });

  it('uses defaultRetryAfterMs without a header, and caps long waits at maxRetryAfterMs', async () => {
    expect((await failureOf({ status: 429, json: rateLimited })).retryAfterMs).toBe(1000);
    expect((await failureOf({ status: 429, json: rateLimited }, { defaultRetryAfterMs: 40 })).retryAfterMs).toBe(40);
    expect((await failureOf({ status: 429, headers: { 'retry-after': '7200' }, json: rateLimited })).retryAfterMs).toBe(60_000);
    expect((await failureOf({ status: 429, headers: { 'retry-after': '7200' }, json: rateLimited }, { maxRetryAfterMs: 5000 })).retryAfterMs).toBe(5000);
  });

  it('keeps the wait of a Retry-After the server sent twice', async () => {
    const error = await failureOf({ status: 429, headers: { 'retry-after': '2, 2' }, json: rateLimited });
    expect(error.retryAfterMs).toBe(2000);
  });

  // Read first, the body's failure turned these into connection errors: a 429 retried at once, not throttled; a 401 retried.
  it.each([
    [429, { 'retry-after': '2', 'content-length': '250' }, { retryable: true, retryAfterMs: 2000 }, ' (the body was cut off: the connection broke after 20 of 250 bytes)'],
    [401, {}, { retryable: false, retryAfterMs: undefined }, ' (the body was cut off: the connection broke after 20 bytes)'],
  ])('keeps the status and Retry-After of a %i whose body the connection cuts off', async (status, headers, fields, note) => {
    const partial = JSON.stringify({ error: { message: 'rate limited, retry later' } }).slice(0, 20);
    const error = await failureOf({ status, headers, partial });
    expect(error).toMatchObject({ status, ...fields, body: partial, serverMessage: `${partial}${note}` });
    expect(error.message).toBe(`POST ${server.baseUrl}/embeddings answered ${status}: ${partial}${note}`);
  });

  it('rejects with the abort reason when the signal aborts while an error body is read', async () => {
    server.next('/v1/embeddings', { status: 429, headers: { 'retry-after': '2' }, partial: '{"error":', thenHang: true });
    const controller = new AbortController();
    const reason = new Error('attempt timed out');
    // Aborts once fetch has the status and headers, so the abort meets the reading of the body.
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
      const response = await realFetch(...args);
      controller.abort(reason);
      return response;
    });
    try {
      await expect(embed()(['a'], { signal: controller.signal })).rejects.toBe(reason);
    } finally {
      spy.mockRestore();
    }
  });

  it('maps 503 to a throttling error too', async () => {
    const error = await failureOf({ status: 503, headers: { 'retry-after': '2' }, text: 'overloaded' });
    expect(error).toMatchObject({ status: 503, retryAfterMs: 2000, retryable: true, serverMessage: 'overloaded', body: 'overloaded' });
  });

  it.each([
    [400, { error: { message: "'input' is too long", type: 'invalid_request_error' } }, "'input' is too long"],
    [401, { error: { message: 'Incorrect API key provided' } }, 'Incorrect API key provided'],
    [404, 'no such model', 'no such model'],
    [413, { error: 'Input validation error: batch size 64 > maximum allowed batch size 32', error_type: 'Validation' }, 'batch size 64 >'],
    [422, { detail: 'field required' }, 'field required'],
  ])('does not retry a %i, and keeps the server message', async (status, body, message) => {
    const error = await failureOf(typeof body === 'string' ? { status, text: body } : { status, json: body });
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(false);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.serverMessage).toContain(message);
    expect(error.message).toContain(message);
  });

  it('retries 5xx other than 503 without a retry-after hint', async () => {
    for (const status of [500, 502, 504]) {
      const error = await failureOf({ status, json: { error: { message: 'upstream failed' } } });
      expect(error).toMatchObject({ status, retryable: true, retryAfterMs: undefined });
    }
  });
});

describe('connection errors and cancellation', () => {
  it('reports a refused connection as a retryable OpenAIConnectionError naming the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const error = await embed({ baseUrl: `http://127.0.0.1:${port}/v1` })(['a']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAIConnectionError);
    expect((error as OpenAIConnectionError).message).toMatch(new RegExp(`POST http://127.0.0.1:${port}/v1/embeddings failed: fetch failed \\(.*ECONNREFUSED`));
    expect((error as { retryable?: unknown }).retryable).toBeUndefined();
  });

  it('reports a connection cut by the server as an OpenAIConnectionError', async () => {
    server.next('/v1/embeddings', 'destroy');
    await expect(embed()(['a'])).rejects.toBeInstanceOf(OpenAIConnectionError);
  });

  it('cancels a slow request when ctx.signal aborts, rejecting with the abort reason', async () => {
    server.next('/v1/embeddings', 'hang');
    const controller = new AbortController();
    const call = embed()(['a', 'b'], { signal: controller.signal });
    await server.waitForRequests(1);
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await server.waitForAbandoned(1);
    expect(server.abandoned).toBe(1);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const reason = new Error('job cancelled');
    await expect(embed()(['a'], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.requests).toHaveLength(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const headers = (h: Record<string, string>) => new Headers(h);

  it('reads seconds, fractional seconds, HTTP dates and retry-after-ms', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '120' }), now, 1000, 600_000)).toBe(120_000);
    expect(parseRetryAfter(headers({ 'retry-after': ' 1.5 ' }), now, 1000, 600_000)).toBe(1500);
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now, 1000, 600_000)).toBe(30_000);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '20' }), now, 1000, 600_000)).toBe(20);
  });

  it('reads the obsolete HTTP date forms (RFC 850, asctime)', () => {
    expect(parseRetryAfter(headers({ 'retry-after': 'Wednesday, 01-Jan-25 00:00:30 GMT' }), now, 1000, 600_000)).toBe(30_000);
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed Jan  1 00:00:30 2025' }), now, 1000, 600_000)).toBe(30_000);
  });

  it('takes the first value of a header sent twice, which fetch joins with a comma', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '2, 2' }), now, 1000, 600_000)).toBe(2000);
    expect(parseRetryAfter(headers({ 'retry-after': '3,5' }), now, 1000, 600_000)).toBe(3000);
    const date = 'Wed, 01 Jan 2025 00:00:30 GMT';
    expect(parseRetryAfter(headers({ 'retry-after': `${date}, ${date}` }), now, 1000, 600_000)).toBe(30_000);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250, 250' }), now, 1000, 600_000)).toBe(250);
  });

  // Date.parse read each of these as some date in the past: a wait of 0, so the operator retried at once.
  it.each(['-5', '+5', '-1', '12 5', '2 3', '1e3', '5s', 'Wed, 01 Jan 2025 00:00:30', 'Wed, 32 Jan 2025 00:00:30 GMT', '2025-01-01T00:00:30Z', 'Jan 2025'])(
    'treats %j as absent',
    (value) => {
      expect(parseRetryAfter(headers({ 'retry-after': value }), now, 1000, 600_000)).toBe(1000);
    },
  );

  it('treats a date in the past as no wait and garbage as absent', () => {
    expect(parseRetryAfter(headers({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }), now, 1000, 600_000)).toBe(0);
    expect(parseRetryAfter(headers({ 'retry-after': 'soon', 'retry-after-ms': '-5' }), now, 1000, 600_000)).toBe(1000);
    expect(parseRetryAfter(headers({}), now, 1000, 600)).toBe(600);
  });
});
