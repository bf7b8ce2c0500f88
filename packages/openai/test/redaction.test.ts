import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIChat, openAIEmbeddings, OpenAIHttpError, OpenAIResponseError, type EmbeddingsOptions } from '../src/index.js';
import { displayUrl, headerSecrets, Redactor } from '../src/internal/Redactor.js';
import { useFakeOpenAIServer } from './support/FakeOpenAIServer.js';

const server = useFakeOpenAIServer();

const KEY = 'sk-proj-KEY0123456789';
const TOKEN = 'gw-TOKEN-abcdef';

const embed = (options: Partial<Omit<EmbeddingsOptions<string>, 'float32'>> = {}) =>
  openAIEmbeddings<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, apiKey: KEY, headers: { 'x-gateway-token': TOKEN }, ...options });

/** Everything an error shows: its message, fields and body, and its cause chain. */
function shown(error: unknown): string {
  const seen: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) seen.push(e.message, JSON.stringify({ ...e }));
  return seen.join('\n');
}

async function failureOf(call: Promise<unknown>): Promise<Error> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('secrets in options that fetch would refuse', () => {
  // fetch's own error quoted the whole header value, key included.
  it.each([
    ['a line break', `${KEY}\nX`, 'U+000A at index 21'],
    ['a NUL', `${KEY}\0`, 'U+0000 at index 21'],
    ['a character above U+00FF', `${KEY}€`, 'U+20AC at index 21'],
  ])('rejects an API key holding %s when the function is created, without showing it', (_, apiKey, where) => {
    const problem = `option 'apiKey' holds a character an HTTP header cannot carry (${where}); the value is not shown`;
    expect(() => embed({ apiKey })).toThrow(new InvalidJobError(`openAIEmbeddings: ${problem}`));
    expect(() => openAIChat<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, apiKey })).toThrow(new InvalidJobError(`openAIChat: ${problem}`));
  });

  it('rejects a header value holding a line break, naming the header but not the value', () => {
    expect(() => embed({ headers: { 'x-gateway-token': `${TOKEN}\r\nx-injected: 1` } })).toThrow(
      new InvalidJobError(`openAIEmbeddings: header 'x-gateway-token' holds a character an HTTP header cannot carry (U+000D at index 15); the value is not shown`),
    );
    expect(() => embed({ headers: { 'x gateway': TOKEN } })).toThrow(new InvalidJobError(`openAIEmbeddings: header name 'x gateway' is not a valid HTTP header name`));
  });

  it('rejects credentials in baseUrl without echoing the password, also in a URL that does not parse', () => {
    const port = new URL(server.baseUrl).port;
    expect(() => embed({ baseUrl: `http://user:pw-SECRET-1@127.0.0.1:${port}/v1` })).toThrow(
      new InvalidJobError(`openAIEmbeddings: option 'baseUrl' must not hold credentials (user:password@): send them in 'headers', e.g. { authorization: 'Basic ...' }`),
    );
    expect(() => embed({ baseUrl: 'http://user:pw-SECRET-1@bad host/v1' })).toThrow(
      new InvalidJobError(`openAIEmbeddings: option 'baseUrl' must be an http(s) URL, got 'http://[redacted]@bad host/v1'`),
    );
    expect(() => embed({ baseUrl: 'user:pw-SECRET-1@localhost:8000/v1' })).toThrow(
      new InvalidJobError(`openAIEmbeddings: option 'baseUrl' must be an http(s) URL, got '[redacted]@localhost:8000/v1'`),
    );
  });
});

describe('secrets a server echoes back', () => {
  it('redacts the API key and header values from an HTTP error: message, server message and body', async () => {
    server.next('/v1/embeddings', (request) => ({
      status: 401,
      json: { error: { message: `Incorrect API key provided: ${request.headers.authorization} (token ${String(request.headers['x-gateway-token'])})` }, [TOKEN]: KEY },
    }));
    const error = await failureOf(embed()(['a']));
    expect(error).toBeInstanceOf(OpenAIHttpError);
    expect(error.message).toBe(`POST ${server.baseUrl}/embeddings answered 401: Incorrect API key provided: Bearer [redacted] (token [redacted])`);
    expect((error as OpenAIHttpError).body).toEqual({
      error: { message: 'Incorrect API key provided: Bearer [redacted] (token [redacted])' },
      '[redacted]': '[redacted]',
    });
    expect(shown(error)).not.toMatch(/KEY0123|TOKEN-abc/);
  });

  it.each([
    ['Bearer', 'Authorization', `Bearer ${TOKEN}`, [TOKEN]],
    ['Basic', 'authorization', `Basic ${Buffer.from('svc-user:hunter2-pw').toString('base64')}`, [Buffer.from('svc-user:hunter2-pw').toString('base64'), 'svc-user:hunter2-pw', 'hunter2-pw']],
    ['Token', 'x-api-key', `token ${TOKEN}`, [TOKEN]],
  ])('redacts the credentials of a %s header when the server echoes them without the scheme word', async (_, name, value, parts) => {
    server.next('/v1/embeddings', { status: 401, json: { error: { message: `rejected: ${parts.join(' / ')}` } } });
    const error = await failureOf(embed({ apiKey: undefined, headers: { [name]: value } })(['a']));
    expect(error.message).toBe(`POST ${server.baseUrl}/embeddings answered 401: rejected: ${parts.map(() => '[redacted]').join(' / ')}`);
    expect(shown(error)).not.toMatch(/TOKEN-abc|hunter2/);
  });

  it('leaves the words of ordinary header values alone', async () => {
    server.next('/v1/embeddings', { status: 400, json: { error: { message: 'unknown team for search' } } });
    const error = await failureOf(embed({ headers: { 'x-team': 'search team' } })(['a']));
    expect(error.message).toMatch(/answered 400: unknown team for search$/);
  });

  it('redacts secrets a text error body echoes in JSON-escaped form', async () => {
    const apiKey = 'sk-"quoted"\\key';
    server.next('/v1/embeddings', (request) => ({ status: 500, text: `upstream got headers ${JSON.stringify(request.headers)}` }));
    const error = await failureOf(embed({ apiKey })(['a']));
    expect(error).toBeInstanceOf(OpenAIHttpError);
    expect(error.message).toContain('"authorization":"Bearer [redacted]"');
    expect(error.message).toContain('"x-gateway-token":"[redacted]"');
    expect(shown(error)).not.toMatch(/quoted|TOKEN-abc/);
  });

  it('redacts secrets from the body of a 2xx answer it cannot use', async () => {
    server.next('/v1/embeddings', (request) => ({ json: { echo: request.headers.authorization } }));
    const error = await failureOf(embed()(['a']));
    expect(error).toBeInstanceOf(OpenAIResponseError);
    expect((error as OpenAIResponseError).body).toEqual({ echo: 'Bearer [redacted]' });
    expect(shown(error)).not.toContain('KEY0123');
  });

  it("keeps the base URL's query after the path and never shows its values", async () => {
    // The fake server answers an unknown path 404 `no route <path>`, echoing the query.
    const baseUrl = `${server.baseUrl}?key=q-SECRET-9&api-version=2024-10-21`;
    const error = await failureOf(embed({ baseUrl })(['a']));
    expect(server.requests[0]!.path).toBe('/v1/embeddings?key=q-SECRET-9&api-version=2024-10-21');
    expect(error).toMatchObject({ status: 404, url: `${server.baseUrl}/embeddings?key=[redacted]&api-version=[redacted]` });
    expect(error.message).toBe(
      `POST ${server.baseUrl}/embeddings?key=[redacted]&api-version=[redacted] answered 404: no route /v1/embeddings?key=[redacted]&api-version=[redacted]`,
    );
  });
});

describe('Redactor', () => {
  const redactor = new Redactor([KEY, 'a b/c', 'on']);

  it('replaces raw, JSON-escaped and URL-encoded forms, and leaves values under 4 characters alone', () => {
    expect(redactor.text(`${KEY} ${JSON.stringify('a b/c')} ?k=${encodeURIComponent('a b/c')} on`)).toBe('[redacted] "[redacted]" ?k=[redacted] on');
  });

  it('copies an error chain that holds a secret, keeping names, and returns a clean one as it is', () => {
    const dirty = new TypeError('fetch failed', { cause: new Error(`header value ${KEY} refused`) });
    const copy = redactor.error(dirty) as Error;
    expect(copy).not.toBe(dirty);
    expect(copy).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect((copy.cause as Error).message).toBe('header value [redacted] refused');
    expect(shown(copy)).not.toContain('KEY0123');

    const clean = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    expect(redactor.error(clean)).toBe(clean);
  });

  it('finds the credentials after an auth scheme word, decoding Basic only when it is base64 of user:password', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    expect(headerSecrets('Proxy-Authorization', 'Custom abc.def')).toEqual(['Custom abc.def', 'abc.def']);
    expect(headerSecrets('authorization', `Basic ${b64('u:pass-1')}`)).toEqual([`Basic ${b64('u:pass-1')}`, b64('u:pass-1'), 'u:pass-1', 'pass-1']);
    expect(headerSecrets('authorization', `Basic ${b64('sk-no-colon')}`)).toEqual([`Basic ${b64('sk-no-colon')}`, b64('sk-no-colon')]);
    expect(headerSecrets('authorization', 'Basic user:pass')).toEqual(['Basic user:pass', 'user:pass']);
    expect(headerSecrets('x-team', 'search team')).toEqual(['search team']);
    expect(headerSecrets('authorization', 'Bearer a b')).toEqual(['Bearer a b']);
  });

  it('shows a URL without credentials, query values or fragment', () => {
    expect(displayUrl(new URL('https://u:p@example.com/v1/embeddings?key=s3cret&x=1#frag'))).toBe('https://example.com/v1/embeddings?key=[redacted]&x=[redacted]');
  });
});
