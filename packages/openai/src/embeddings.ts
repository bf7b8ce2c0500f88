import { describeValue, OptionChecker } from '@tributary/core';
import type { CallContext, OpenAIClientOptions } from './client.js';
import { CLIENT_OPTIONS, Endpoint, isRecord, refuseOwnFields } from './internal/Endpoint.js';
import { nonRetryable } from './internal/nonRetryable.js';
import { countUsage } from './internal/usage.js';

/** Options of {@link openAIEmbeddings}. */
export interface EmbeddingsOptions<TIn> extends OpenAIClientOptions {
  /** The embedding model, e.g. `'text-embedding-3-small'`. */
  readonly model: string;
  /** The text to embed for a record. */
  readonly text: (record: TIn) => string;
  /** Sent as `dimensions` (models that can shorten their vectors, e.g. text-embedding-3-*). */
  readonly dimensions?: number | undefined;
  /**
   * Sent as `encoding_format`. `'base64'` makes the answer about four times
   * smaller (raw little-endian float32); either way the adapter hands you
   * numbers. Default: not sent (the server's default, `float` on OpenAI).
   */
  readonly encodingFormat?: 'float' | 'base64' | undefined;
  /** Give each embedding as a `Float32Array` instead of a `number[]`. Default false. */
  readonly float32?: boolean | undefined;
  /** More request fields, sent as given (`user`, or a server's own such as TEI's `truncate`); not `model` or `input`, which the adapter sets (nor `dimensions` or `encoding_format` when their options are given). */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
}

const EMBEDDINGS_OPTIONS = ['model', 'text', 'dimensions', 'encodingFormat', 'float32', 'body', ...CLIENT_OPTIONS];

/** One record and its embedding, as {@link openAIEmbeddings} emits them. */
export interface Embedding<TIn, TVector extends number[] | Float32Array = number[]> {
  readonly input: TIn;
  readonly embedding: TVector;
}

/** A batch function over `/embeddings`: one request for the whole batch. */
export type EmbeddingsBatchFunction<TIn, TVector extends number[] | Float32Array> = (
  inputs: readonly TIn[],
  ctx?: CallContext,
) => Promise<Embedding<TIn, TVector>[]>;

/**
 * A batch function that embeds a whole batch with one request to an
 * OpenAI-compatible `POST <baseUrl>/embeddings`.
 *
 * When to use: with `AsyncDataStream.unorderedWaitBatch` (or the ordered one),
 * which forms the batches, caps the calls in flight, retries and throttles;
 * bound a batch by the provider's limits with `maxBatchSize` (OpenAI: 2048
 * inputs) and `maxBatchWeight` plus {@link tokenWeigher} (OpenAI: 300k tokens
 * per request).
 *
 * Details:
 * - Sends `{ model, input: [text(r) for r in batch], dimensions?, encoding_format?, ...body }`
 *   and returns one `{ input, embedding }` per input, in input order: the
 *   answer's `data[].index` says which input each embedding belongs to, so a
 *   server answering out of order is fine.
 * - Errors follow `@tributary/async`'s conventions (see {@link OpenAIHttpError}):
 *   429/503 throttle, other 4xx are not retried, 5xx and connection errors are.
 *   An answer with another number of embeddings than inputs, or indices that do
 *   not cover each input once, fails with an {@link OpenAIResponseError} naming
 *   both counts; so does an empty embedding, or one of another size than
 *   `dimensions` (a server that ignores the option).
 * - `ctx.signal` goes to `fetch`: a timeout or cancellation aborts the request.
 * - When the server reports `usage`, its `prompt_tokens` and `total_tokens`
 *   are added to the operator's counters `promptTokens` and `totalTokens`
 *   (through `ctx.metrics`).
 * - Empty batches make no request.
 *
 * @example
 * ```ts
 * const embed = openAIEmbeddings({
 *   model: 'text-embedding-3-small',
 *   apiKey: process.env.OPENAI_API_KEY,
 *   text: (doc: Doc) => doc.body,
 * });
 * const embedded = AsyncDataStream.unorderedWaitBatch(docs, embed, {
 *   maxBatchSize: 256,
 *   maxBatchDelay: 20,
 *   maxInFlightBatches: 4,
 *   retry: RetryStrategies.exponentialBackoff({ maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 10_000 }),
 * });
 * ```
 */
export function openAIEmbeddings<TIn>(options: EmbeddingsOptions<TIn> & { readonly float32: true }): EmbeddingsBatchFunction<TIn, Float32Array>;
export function openAIEmbeddings<TIn>(
  options: EmbeddingsOptions<TIn> & { readonly float32?: false | undefined },
): EmbeddingsBatchFunction<TIn, number[]>;
export function openAIEmbeddings<TIn>(options: EmbeddingsOptions<TIn>): EmbeddingsBatchFunction<TIn, number[] | Float32Array> {
  const check = new OptionChecker('openAIEmbeddings');
  check.known(check.object(options), EMBEDDINGS_OPTIONS);
  const model = check.nonEmptyString('model', options.model);
  const text = check.func('text', options.text);
  const dimensions = options.dimensions === undefined ? undefined : check.integer('dimensions', options.dimensions);
  const encodingFormat = check.optionalOneOf('encodingFormat', options.encodingFormat, ['float', 'base64']);
  const float32 = check.optionalBoolean('float32', options.float32) === true;
  const extra = check.record('body', options.body) ?? {};
  refuseOwnFields(check, extra, {
    model: "'model'",
    input: "'text'",
    ...(dimensions === undefined ? {} : { dimensions: "'dimensions'" }),
    ...(encodingFormat === undefined ? {} : { encoding_format: "'encodingFormat'" }),
  });
  const endpoint = new Endpoint('/embeddings', options, check);

  return async (inputs, ctx) => {
    if (inputs.length === 0) return [];
    const texts = inputs.map((record) => {
      const t = text(record);
      if (typeof t !== 'string') throw nonRetryable(new TypeError(`openAIEmbeddings: text(record) must return a string, got ${describeValue(t)}`));
      return t;
    });
    const json = await endpoint.post(
      {
        ...extra,
        model,
        input: texts,
        ...(dimensions === undefined ? {} : { dimensions }),
        ...(encodingFormat === undefined ? {} : { encoding_format: encodingFormat }),
      },
      ctx?.signal,
    );
    countUsage(json, ctx?.metrics);
    const data = isRecord(json) ? json.data : undefined;
    if (!Array.isArray(data)) throw endpoint.unusable(`expected an object with a 'data' array, got ${describeValue(json)}`, json);
    const n = inputs.length;
    if (data.length !== n) throw endpoint.unusable(`${n} inputs were sent but ${data.length} embeddings came back`, json);
    const out = new Array<Embedding<TIn, number[] | Float32Array> | undefined>(n);
    for (const item of data) {
      const index: unknown = isRecord(item) ? item.index : undefined;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n || out[index] !== undefined) {
        const indices = data.map((d) => (!isRecord(d) ? '?' : d.index === undefined ? 'missing' : JSON.stringify(d.index))).join(', ');
        throw endpoint.unusable(`the indices of the ${data.length} embeddings [${indices}] do not cover the ${n} inputs once each`, json);
      }
      const vector = vectorOf((item as Record<string, unknown>).embedding, float32);
      if (vector === undefined) throw endpoint.unusable(`embedding ${index} is neither an array of numbers nor a base64 string`, json);
      // An empty vector, or one of another size than asked, is no embedding of the input: it would poison every comparison.
      if (vector.length === 0) throw endpoint.unusable(`embedding ${index} is empty`, json);
      if (dimensions !== undefined && vector.length !== dimensions) {
        throw endpoint.unusable(`embedding ${index} has ${vector.length} dimensions, ${dimensions} were asked for`, json);
      }
      out[index] = { input: inputs[index] as TIn, embedding: vector };
    }
    return out as Embedding<TIn, number[] | Float32Array>[];
  };
}

function vectorOf(embedding: unknown, float32: boolean): number[] | Float32Array | undefined {
  if (typeof embedding === 'string') {
    const bytes = Buffer.from(embedding, 'base64');
    if (bytes.byteLength % 4 !== 0) return undefined;
    // Copy into a fresh buffer: Buffer.from may hand out an unaligned slice of its pool.
    const floats = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(floats.buffer).set(bytes);
    return float32 ? floats : Array.from(floats);
  }
  if (!Array.isArray(embedding) || !embedding.every((x) => typeof x === 'number')) return undefined;
  return float32 ? Float32Array.from(embedding) : embedding;
}
