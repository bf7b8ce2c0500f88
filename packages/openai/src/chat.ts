import { describeValue, OptionChecker } from '@tributary/core';
import type { CallContext, OpenAIClientOptions } from './client.js';
import { CLIENT_OPTIONS, Endpoint, isRecord, refuseOwnFields } from './internal/Endpoint.js';
import { nonRetryable } from './internal/nonRetryable.js';
import { countUsage } from './internal/usage.js';

/** One message of a chat conversation. */
export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | (string & {});
  readonly content: string;
  readonly name?: string | undefined;
}

interface ChatOptionsBase extends OpenAIClientOptions {
  /** The chat model, e.g. `'gpt-4o-mini'`. */
  readonly model: string;
  /** More request fields, sent as given: `temperature`, `max_tokens`, `response_format`, `seed`, ... (`stream` is not supported; `model` and `messages` are the adapter's). */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
}

const CHAT_OPTIONS = ['model', 'body', 'text', 'system', 'messages', ...CLIENT_OPTIONS];

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

/** A per-record async function over `/chat/completions`: one request per record. */
export type ChatFunction<TIn> = (input: TIn, ctx?: CallContext) => Promise<ChatCompletion<TIn>>;

/**
 * A per-record async function that sends one record as one request to an
 * OpenAI-compatible `POST <baseUrl>/chat/completions`.
 *
 * Chat endpoints take one conversation per request, so there is nothing to
 * batch on this side: run it with `AsyncDataStream.unorderedWait` (or
 * `orderedWait`), whose `capacity` is the number of requests in flight and
 * whose retries, timeouts and throttling then apply to each request alone.
 * A failed request is sent again on its own, never with requests that
 * already succeeded. Servers that batch on their side (vLLM, TGI) fill their
 * GPU batches from the concurrent requests. Errors follow
 * {@link OpenAIHttpError}'s table; `ctx.signal` aborts the request.
 *
 * @example
 * ```ts
 * const summarize = openAIChat({
 *   model: 'gpt-4o-mini',
 *   apiKey: process.env.OPENAI_API_KEY,
 *   system: 'Summarize the ticket in one sentence.',
 *   text: (ticket: Ticket) => ticket.body,
 *   body: { temperature: 0, max_tokens: 60 },
 * });
 * const summaries = AsyncDataStream.unorderedWait(tickets, summarize, { capacity: 8, retry });
 * ```
 */
export function openAIChat<TIn>(options: ChatOptions<TIn>): ChatFunction<TIn> {
  const check = new OptionChecker('openAIChat');
  check.known(check.object(options), CHAT_OPTIONS);
  const model = check.nonEmptyString('model', options.model);
  const extra = check.record('body', options.body) ?? {};
  if (extra.stream !== undefined && extra.stream !== false) check.fail(`option 'body' must not set 'stream': the adapter reads whole answers`);
  refuseOwnFields(check, extra, { model: "'model'", messages: "'text' or 'messages'" });
  const conversation = conversationOf(options, check);
  const endpoint = new Endpoint('/chat/completions', options, check);

  return async (input, ctx) => {
    const json = await endpoint.post({ ...extra, model, messages: conversation(input) }, ctx?.signal);
    countUsage(json, ctx?.metrics);
    const choice: unknown = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
    const message: unknown = isRecord(choice) ? choice.message : undefined;
    if (!isRecord(message) || (typeof message.content !== 'string' && message.content !== null)) {
      throw endpoint.unusable(`expected 'choices[0].message.content' to be a string or null, got ${describeValue(json)}`, json);
    }
    const finishReason = (choice as Record<string, unknown>).finish_reason;
    return {
      input,
      content: message.content,
      finishReason: typeof finishReason === 'string' ? finishReason : null,
      response: json as ChatCompletionResponse,
    };
  };
}

function conversationOf<TIn>(options: ChatOptions<TIn>, check: OptionChecker): (record: TIn) => readonly ChatMessage[] {
  if (options.messages !== undefined) {
    if (options.text !== undefined || options.system !== undefined) check.fail(`give either 'messages' or 'text' (with 'system'), not both`);
    const messages = check.func('messages', options.messages);
    return (record) => {
      const built: unknown = messages(record);
      if (!Array.isArray(built)) throw nonRetryable(new TypeError(`openAIChat: messages(record) must return an array, got ${describeValue(built)}`));
      return built as readonly ChatMessage[];
    };
  }
  if (options.text === undefined) check.fail(`option 'text' or 'messages' is required`);
  const text = check.func('text', options.text);
  const system = check.optionalString('system', options.system);
  const prefix: readonly ChatMessage[] = system === undefined ? [] : [{ role: 'system', content: system }];
  return (record) => {
    const content = text(record);
    if (typeof content !== 'string') throw nonRetryable(new TypeError(`openAIChat: text(record) must return a string, got ${describeValue(content)}`));
    return [...prefix, { role: 'user', content }];
  };
}
