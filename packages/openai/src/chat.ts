import type { CallContext, OpenAIClientOptions } from './client.js';
import { Endpoint, isRecord } from './internal/Endpoint.js';
import { mapWithConcurrency } from './internal/mapWithConcurrency.js';
import { nonRetryable } from './internal/nonRetryable.js';
import { describe, OptionChecker } from './internal/validate.js';

/** One message of a chat conversation. */
export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | (string & {});
  readonly content: string;
  readonly name?: string | undefined;
}

interface ChatOptionsBase extends OpenAIClientOptions {
  /** The chat model, e.g. `'gpt-4o-mini'`. */
  readonly model: string;
  /**
   * Requests in flight at once within one batch call. Default 4. The total
   * against the server is this times the operator's `maxInFlightBatches`.
   */
  readonly maxConcurrency?: number | undefined;
  /** More request fields, sent as given: `temperature`, `max_tokens`, `response_format`, `seed`, ... (`stream` is not supported). */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Options of {@link openAIChat}: the conversation per record comes either from
 * `text` (one user message, after an optional `system` message) or from
 * `messages`.
 */
export type ChatOptions<TIn> = ChatOptionsBase &
  (
    | {
        /** The user message for a record. */
        readonly text: (record: TIn) => string;
        /** A system message sent before every user message. */
        readonly system?: string | undefined;
        readonly messages?: undefined;
      }
    | {
        /** The whole conversation for a record. */
        readonly messages: (record: TIn) => readonly ChatMessage[];
        readonly text?: undefined;
        readonly system?: undefined;
      }
  );

/** The parts of a chat completion the adapter reads; every other field of the answer is kept too. */
export interface ChatCompletionResponse {
  readonly choices: readonly {
    readonly index?: number;
    readonly message: { readonly role: string; readonly content: string | null; readonly [field: string]: unknown };
    readonly finish_reason?: string | null;
  }[];
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number; readonly total_tokens?: number };
  readonly [field: string]: unknown;
}

/** One record and the model's answer, as {@link openAIChat} emits them. */
export interface ChatCompletion<TIn> {
  readonly input: TIn;
  /** The first choice's message text (`null` when the model answered only with tool calls). */
  readonly content: string | null;
  /** Why the model stopped: `'stop'`, `'length'`, `'tool_calls'`, ... */
  readonly finishReason: string | null;
  /** The server's whole answer (usage, tool calls, other choices). */
  readonly response: ChatCompletionResponse;
}

/** A batch function over `/chat/completions`: one request per record. */
export type ChatBatchFunction<TIn> = (inputs: readonly TIn[], ctx?: CallContext) => Promise<ChatCompletion<TIn>[]>;

/**
 * A batch function that sends each record of a batch as its own request to an
 * OpenAI-compatible `POST <baseUrl>/chat/completions`, at most `maxConcurrency`
 * at once, and returns the answers in input order.
 *
 * When to use: chat endpoints take one conversation per request, so batching
 * here buys concurrency control, retries and throttling from the async batch
 * operator rather than fewer requests. Servers that batch on their side
 * (vLLM, TGI) fill their GPU batches from the concurrent requests.
 *
 * Details:
 * - The first failing request fails the whole call and aborts the batch's
 *   other requests; the operator's retry then sends the whole batch again.
 *   Keep batches small (`maxBatchSize` around `maxConcurrency`) when requests are
 *   expensive. Errors follow {@link OpenAIHttpError}'s table.
 * - `ctx.signal` aborts every request of the call.
 *
 * @example
 * ```ts
 * const summarize = openAIChat({
 *   model: 'gpt-4o-mini',
 *   apiKey: process.env.OPENAI_API_KEY,
 *   system: 'Summarize the ticket in one sentence.',
 *   text: (ticket: Ticket) => ticket.body,
 *   body: { temperature: 0, max_tokens: 60 },
 *   maxConcurrency: 8,
 * });
 * const summaries = AsyncDataStream.unorderedWaitBatch(tickets, summarize, { maxBatchSize: 8, maxBatchDelay: 50 });
 * ```
 */
export function openAIChat<TIn>(options: ChatOptions<TIn>): ChatBatchFunction<TIn> {
  const check = new OptionChecker('openAIChat');
  const model = check.nonEmptyString('model', options.model);
  const maxConcurrency = check.positiveInteger('maxConcurrency', options.maxConcurrency ?? 4);
  const extra = check.record('body', options.body) ?? {};
  if (extra.stream !== undefined && extra.stream !== false) check.fail(`option 'body' must not set 'stream': the adapter reads whole answers`);
  const conversation = conversationOf(options, check);
  const endpoint = new Endpoint('/chat/completions', options, check);

  return (inputs, ctx) =>
    mapWithConcurrency(inputs, maxConcurrency, ctx?.signal, async (input, signal) => {
      const json = await endpoint.post({ ...extra, model, messages: conversation(input) }, signal);
      const choice: unknown = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
      const message: unknown = isRecord(choice) ? choice.message : undefined;
      if (!isRecord(message) || (typeof message.content !== 'string' && message.content !== null)) {
        throw endpoint.unusable(`expected 'choices[0].message.content' to be a string or null, got ${describe(json)}`, json);
      }
      const finishReason = (choice as Record<string, unknown>).finish_reason;
      return {
        input,
        content: message.content,
        finishReason: typeof finishReason === 'string' ? finishReason : null,
        response: json as ChatCompletionResponse,
      };
    });
}

function conversationOf<TIn>(options: ChatOptions<TIn>, check: OptionChecker): (record: TIn) => readonly ChatMessage[] {
  if (options.messages !== undefined) {
    if (options.text !== undefined || options.system !== undefined) check.fail(`give either 'messages' or 'text' (with 'system'), not both`);
    const messages = check.func('messages', options.messages);
    return (record) => {
      const built: unknown = messages(record);
      if (!Array.isArray(built)) throw nonRetryable(new TypeError(`openAIChat: messages(record) must return an array, got ${describe(built)}`));
      return built as readonly ChatMessage[];
    };
  }
  if (options.text === undefined) check.fail(`option 'text' or 'messages' is required`);
  const text = check.func('text', options.text);
  const system = check.optionalString('system', options.system);
  const prefix: readonly ChatMessage[] = system === undefined ? [] : [{ role: 'system', content: system }];
  return (record) => {
    const content = text(record);
    if (typeof content !== 'string') throw nonRetryable(new TypeError(`openAIChat: text(record) must return a string, got ${describe(content)}`));
    return [...prefix, { role: 'user', content }];
  };
}
