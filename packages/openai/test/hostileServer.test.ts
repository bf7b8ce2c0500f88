import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import { StreamExecutionEnvironment } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { openAIEmbeddings, type Embedding, type EmbeddingsOptions } from '../src/index.js';
import { trigramEmbedding, useFakeOpenAIServer, type RecordedRequest, type Reply } from './support/FakeOpenAIServer.js';

// Fault injection: whole jobs against a server that answers with what a broken or hostile one sends.
const server = useFakeOpenAIServer();
// A bound on a hang, not a timing: these jobs make up to 20 real HTTP requests on a shared, busy machine.
const JOB_TIMEOUT_MS = 60_000;

const KEY = 'sk-hostile-KEY-0123456789';
const TOKEN = 'gw-TOKEN-0123456789';
const MiB = 1024 * 1024;
const records = Array.from({ length: 100 }, (_, i) => `record ${i}`);

function embedAll(options: Partial<Omit<EmbeddingsOptions<string>, 'float32'>> = {}) {
  const env = StreamExecutionEnvironment.create();
  const out: Embedding<string>[] = [];
  const embed = openAIEmbeddings<string>({ baseUrl: server.baseUrl, model: 'm', text: (t) => t, apiKey: KEY, headers: { 'x-gateway-token': TOKEN }, ...options });
  AsyncDataStream.unorderedWaitBatch(env.fromCollection(records), embed, {
    maxBatchSize: 10,
    maxInFlightBatches: 2,
    retry: RetryStrategies.fixedDelay<Embedding<string>>({ maxAttempts: 3, delayMs: 0 }),
  })
    .name('embed')
    .addSink((e) => void out.push(e));
  return { out, run: (name: string) => env.execute(name) };
}

describe('jobs against a hostile server', { timeout: JOB_TIMEOUT_MS }, () => {
  it('embed every record exactly once through retryable hostile answers', async () => {
    const hugeError = `Bad gateway: ${'x'.repeat(256 * 1024 - 13)}`;
    const faults: ((request: RecordedRequest) => Reply)[] = [
      () => ({ status: 502, text: hugeError, headers: { 'content-length': String(256 * 1024) } }),
      () => ({ status: 500, endless: '{"error": "overloaded", "detail": "' }),
      (request) => ({
        status: 503,
        headers: { 'retry-after': '0' },
        json: { error: { message: `overloaded; your key ${String(request.headers.authorization)}, token ${String(request.headers['x-gateway-token'])}` } },
      }),
    ];
    // The first attempt of every batch gets a fault, so each batch is retried once.
    const faulted = new Set<string>();
    server.handle('/v1/embeddings', (request) => {
      const batch = JSON.stringify(request.body.input);
      if (faulted.has(batch)) return undefined;
      faulted.add(batch);
      return faults[(faulted.size - 1) % faults.length]!(request);
    });
    const { out, run } = embedAll();

    const result = await run('hostile');

    const inputs = out.map((e) => e.input);
    const lost = records.filter((r) => !inputs.includes(r)).length;
    const duplicates = inputs.length - new Set(inputs).size;
    const retries = result.metrics['job.hostile.operator.embed.0.retries'] as number; // a counter
    console.log(`hostile server: ${faulted.size} faults injected over ${server.requests.length} requests, ${retries} retries, ${lost} records lost, ${duplicates} duplicates`);
    expect(faulted.size).toBe(10);
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    for (const e of out) expect(e.embedding).toEqual(trigramEmbedding(e.input, 8));
    // One retry per fault; on a busy machine a kept-alive connection the server just closed can add one.
    expect(retries).toBeGreaterThanOrEqual(10);
    await server.waitForAbandoned(3); // the client cut off the 3 endless error bodies, at least
  });

  it('fail naming the operator, and never showing the key, when the server echoes it in a 401', async () => {
    server.handle('/v1/embeddings', (request) => ({
      status: 401,
      json: { error: { message: `Incorrect API key provided: ${String(request.headers.authorization)} with ${String(request.headers['x-gateway-token'])}` } },
    }));
    const error = await embedAll()
      .run('echo')
      .catch((e: unknown) => e);

    expect((error as Error).message).toMatch(
      /^Job 'echo' failed in operator 'embed': .* answered 401: Incorrect API key provided: Bearer \[redacted\] with \[redacted\]$/,
    );
    for (let e = error; e instanceof Error; e = e.cause) expect(e.message + JSON.stringify({ ...e })).not.toMatch(/hostile-KEY|TOKEN-0123/);
    // Not retried (a 401 is final): each request is another batch.
    expect(new Set(server.requests.map((r) => JSON.stringify(r.body.input))).size).toBe(server.requests.length);
  });

  it('fail naming the operator when a 2xx body never ends, after reading maxResponseBytes of it', async () => {
    server.handle('/v1/embeddings', () => ({ endless: ' '.repeat(64 * 1024) }));

    await expect(embedAll({ maxResponseBytes: MiB }).run('endless')).rejects.toThrow(
      /^Job 'endless' failed in operator 'embed': .* the body \(more than 1048576 bytes\) is larger than maxResponseBytes \(1048576\)/,
    );
    await server.waitForAbandoned(1);
    console.log(`endless 2xx body: the server wrote ${server.endlessBytes} bytes before the client hung up (limit ${MiB})`);
    expect(server.endlessBytes).toBeLessThan(33 * MiB);
  });
});
