import { InvalidJobError } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIEmbeddings, OpenAIResponseError } from '../src/index.js';
import { useFakeOpenAIServer, trigramEmbedding } from './support/FakeOpenAIServer.js';

interface Doc {
  readonly id: number;
  readonly body: string;
}
const docs: Doc[] = [
  { id: 1, body: 'the quick brown fox' },
  { id: 2, body: 'jumps over' },
  { id: 3, body: 'the lazy dog' },
];

const server = useFakeOpenAIServer();

const embedDocs = (extra: Partial<Parameters<typeof openAIEmbeddings<Doc>>[0]> = {}) =>
  openAIEmbeddings<Doc>({ baseUrl: server.baseUrl, model: 'embed-small', text: (d) => d.body, ...extra });

describe('openAIEmbeddings', () => {
  it('embeds a whole batch with one request and returns one embedding per input, in order', async () => {
    const embed = openAIEmbeddings<Doc>({
      baseUrl: `${server.baseUrl}/`,
      apiKey: 'sk-test',
      headers: { 'x-team': 'search' },
      model: 'embed-small',
      dimensions: 16,
      text: (d) => d.body,
      body: { user: 'tributary-tests' },
    });
    const out = await embed(docs, { signal: new AbortController().signal });

    expect(out).toEqual(docs.map((d) => ({ input: d, embedding: trigramEmbedding(d.body, 16) })));
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v1/embeddings');
    expect(request!.body).toEqual({ user: 'tributary-tests', model: 'embed-small', input: docs.map((d) => d.body), dimensions: 16 });
    expect(request!.headers.authorization).toBe('Bearer sk-test');
    expect(request!.headers['x-team']).toBe('search');
    expect(request!.headers['content-type']).toBe('application/json');
  });

  it("lets headers replace the adapter's own whatever the case of their names, instead of sending both", async () => {
    const embed = embedDocs({
      apiKey: 'sk-default',
      headers: { Authorization: 'Bearer gateway-token', Accept: 'application/x-ndjson', 'Content-Type': 'application/json; charset=utf-8' },
    });
    await embed(docs);
    // fetch joins two values of one header with ', ': the server saw 'Bearer sk-default, Bearer gateway-token'.
    expect(server.requests[0]!.headers).toMatchObject({
      authorization: 'Bearer gateway-token',
      accept: 'application/x-ndjson',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(() => embedDocs({ headers: { 'X-Team': 'a', 'x-team': 'b' } })).toThrow(
      new InvalidJobError(`openAIEmbeddings: header 'x-team' is given twice ('X-Team' and 'x-team'); header names are case-insensitive`),
    );
  });

  it("sends body's dimensions and encoding_format when their options are not given", async () => {
    await embedDocs({ body: { dimensions: 4, encoding_format: 'float' } })(docs);
    expect(server.requests[0]!.body).toMatchObject({ dimensions: 4, encoding_format: 'float' });
  });

  it('puts embeddings back in input order when the server answers out of order', async () => {
    server.next('/v1/embeddings', (_, normal) => {
      const answer = normal();
      return { json: { ...answer, data: [...answer.data].reverse() } };
    });
    const out = await embedDocs()(docs);
    expect(out.map((o) => o.input)).toEqual(docs);
    expect(out.map((o) => o.embedding)).toEqual(docs.map((d) => trigramEmbedding(d.body, 8)));
  });

  it('decodes base64 answers and gives Float32Arrays when asked', async () => {
    const asFloat32 = docs.map((d) => Float32Array.from(trigramEmbedding(d.body, 8)));
    const numbers = await embedDocs({ encodingFormat: 'base64' })(docs);
    expect(server.requests[0]!.body.encoding_format).toBe('base64');
    expect(numbers.map((o) => o.embedding)).toEqual(asFloat32.map((v) => Array.from(v)));

    const floats = await openAIEmbeddings<Doc>({ baseUrl: server.baseUrl, model: 'm', text: (d) => d.body, float32: true })(docs);
    expect(floats[0]!.embedding).toBeInstanceOf(Float32Array);
    expect(floats.map((o) => o.embedding)).toEqual(asFloat32);
  });

  it('fails naming both counts when fewer embeddings come back than inputs were sent', async () => {
    server.next('/v1/embeddings', (_, normal) => {
      const answer = normal();
      return { json: { ...answer, data: answer.data.slice(0, 2) } };
    });
    const error = await embedDocs()(docs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAIResponseError);
    expect((error as OpenAIResponseError).message).toMatch(/3 inputs were sent but 2 embeddings came back/);
    expect((error as OpenAIResponseError).retryable).toBe(false);
  });

  it.each([
    ['a duplicate index', [0, 0, 2]],
    ['an index past the inputs', [0, 1, 3]],
    ['a missing index', [0, undefined, 2]],
  ])('fails on %s, naming the indices and both counts', async (_, indices) => {
    server.next('/v1/embeddings', (_request, normal) => {
      const answer = normal();
      return { json: { ...answer, data: answer.data.map((d, i) => ({ ...d, index: indices[i] })) } };
    });
    await expect(embedDocs()(docs)).rejects.toThrow(
      new RegExp(`the indices of the 3 embeddings \\[${indices.map((i) => (i === undefined ? 'missing' : String(i))).join(', ')}\\] do not cover the 3 inputs`),
    );
  });

  it('fails on bodies that are not JSON or not an embeddings list', async () => {
    server.next('/v1/embeddings', { text: '<html>gateway</html>' });
    await expect(embedDocs()(docs)).rejects.toThrow(/embeddings answered with an unusable response: the body is not JSON: <html>gateway<\/html>/);
    server.next('/v1/embeddings', { json: { result: [] } });
    await expect(embedDocs()(docs)).rejects.toThrow(/expected an object with a 'data' array/);
    server.next('/v1/embeddings', (_, normal) => {
      const answer = normal();
      return { json: { ...answer, data: answer.data.map((d) => ({ ...d, embedding: ['x'] })) } };
    });
    await expect(embedDocs()(docs)).rejects.toThrow(/embedding 0 is neither an array of numbers nor a base64 string/);
    // Well-formed but no embedding: an empty vector, as an empty array or an empty base64 string.
    for (const empty of [[], '']) {
      server.next('/v1/embeddings', (_, normal) => {
        const answer = normal();
        return { json: { ...answer, data: answer.data.map((d) => ({ ...d, embedding: empty })) } };
      });
      await expect(embedDocs()(docs)).rejects.toThrow(/embedding 0 is empty/);
    }
    // A server that ignores `dimensions` (many OpenAI-compatible ones do) answers vectors of another size.
    server.next('/v1/embeddings', (_, normal) => {
      const answer = normal();
      return { json: { ...answer, data: answer.data.map((d) => ({ ...d, embedding: [0.6, 0.8] })) } };
    });
    await expect(embedDocs({ dimensions: 16 })(docs)).rejects.toThrow(/embedding 0 has 2 dimensions, 16 were asked for/);
  });

  it('makes no request for an empty batch', async () => {
    expect(await embedDocs()([])).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('does not retry a record whose text extractor returns no string', async () => {
    const embed = openAIEmbeddings<Doc>({ baseUrl: server.baseUrl, model: 'm', text: (d) => (d.id === 2 ? (null as unknown as string) : d.body) });
    await expect(embed(docs)).rejects.toMatchObject({ retryable: false, message: 'openAIEmbeddings: text(record) must return a string, got null' });
    expect(server.requests).toHaveLength(0);
  });

  it('rejects bad options when it is created, naming them', () => {
    const text = (d: Doc) => d.body;
    const build = (options: object) => () => openAIEmbeddings<Doc>({ model: 'm', text, ...options });
    expect(build({ model: '' })).toThrow(new InvalidJobError(`openAIEmbeddings: option 'model' must be a non-empty string, got ''`));
    expect(build({ text: 'body' })).toThrow(/option 'text' must be a function, got 'body'/);
    expect(build({ dimensions: 0 })).toThrow(/option 'dimensions' must be an integer >= 1, got 0/);
    expect(build({ encodingFormat: 'hex' })).toThrow(/option 'encodingFormat' must be 'float' or 'base64', got 'hex'/);
    expect(build({ baseUrl: 'localhost:8000/v1' })).toThrow(/option 'baseUrl' must be an http\(s\) URL/);
    expect(build({ headers: { 'x-n': 1 } })).toThrow(/header 'x-n' must be a string/);
    expect(build({ maxRetryAfterMs: -1 })).toThrow(/option 'maxRetryAfterMs' must be a finite number of milliseconds >= 0/);
  });
});
