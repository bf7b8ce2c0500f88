import type { MetricGroup } from '@tributary/core';

/**
 * Where and how the adapters reach an OpenAI-compatible server (OpenAI, Azure
 * OpenAI behind a gateway, vLLM, Ollama, Hugging Face TEI, LiteLLM, ...).
 *
 * Gotchas: the adapters follow only same-origin 307 and 308 redirects; a
 * redirect to another origin fails with an `OpenAIRedirectError` instead of
 * sending the documents and credentials there. Errors never show `apiKey`, the
 * values of `headers` or the query values of `baseUrl`. Response bodies are
 * read up to `maxResponseBytes`, error bodies up to 64 KiB.
 */
export interface OpenAIClientOptions {
  /**
   * The API root, including the version segment: the adapters post to
   * `<baseUrl>/embeddings` and `<baseUrl>/chat/completions` (a query, such as
   * `?api-version=...`, is kept after the path).
   * Default `'https://api.openai.com/v1'`; e.g. `'http://localhost:8000/v1'` for
   * vLLM, `'http://localhost:11434/v1'` for Ollama. It must not hold
   * credentials (`user:password@`): send them in `headers`.
   */
  readonly baseUrl?: string | undefined;
  /** Sent as `Authorization: Bearer <apiKey>`. Omit it for servers without auth. Never shown in errors. */
  readonly apiKey?: string | undefined;
  /**
   * Extra request headers (`OpenAI-Organization`, `api-key`, tracing); they
   * replace the adapter's own whatever the case of their names
   * (`Authorization` replaces the `apiKey`'s header; a name given twice in
   * two cases is refused). Their values are treated as secrets: never shown
   * in errors.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Wait asked of the operator after a 429 or 503 without a `Retry-After` header, in ms. Default 1000. */
  readonly defaultRetryAfterMs?: number | undefined;
  /**
   * Upper bound of a server's `Retry-After`, in ms, so a gateway asking for an
   * hour does not park the job (the operator's retry strategy still limits the
   * attempts). Finite: Infinity is rejected. Default 60000.
   */
  readonly maxRetryAfterMs?: number | undefined;
  /**
   * The largest response body read, in bytes: a longer one is cut off (the
   * connection dropped) and fails with an `OpenAIResponseError`, so a broken
   * or hostile server cannot fill the memory. Default 134217728 (128 MiB):
   * OpenAI's pretty-printed float JSON takes up to about 25 bytes per number,
   * so 2048 inputs of 1536 dimensions make up to about 80 MB; with
   * `encodingFormat: 'base64'` a number takes 5.3 bytes.
   */
  readonly maxResponseBytes?: number | undefined;
}

/**
 * What the adapters' batch functions take besides their inputs: the
 * `BatchContext` of `@tributary/async`'s batch operators fits. Its `signal`
 * is passed to `fetch`, so a timed-out or cancelled call stops its request.
 */
export interface CallContext {
  readonly signal?: AbortSignal | undefined;
  /** Where the token usage a server reports is counted (`promptTokens`, `completionTokens`, `totalTokens`); the operators pass their own. */
  readonly metrics?: MetricGroup | undefined;
}
