/**
 * @tributary/openai: batch functions for OpenAI-compatible embeddings and chat
 * endpoints, for `@tributary/async`'s batch operators.
 * @packageDocumentation
 */
export { openAIEmbeddings, type EmbeddingsOptions, type Embedding, type EmbeddingsBatchFunction } from './embeddings.js';
export {
  openAIChat,
  type ChatOptions,
  type ChatMessage,
  type ChatCompletion,
  type ChatCompletionResponse,
  type ChatFunction,
} from './chat.js';
export type { OpenAIClientOptions, CallContext } from './client.js';
export { OpenAIHttpError, OpenAIResponseError, OpenAIRedirectError, OpenAIConnectionError } from './errors.js';
export { approximateTokens, tokenWeigher } from './tokens.js';
