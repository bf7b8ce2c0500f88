/**
 * Where and how the adapters reach an OpenAI-compatible server (OpenAI, Azure
 * OpenAI behind a gateway, vLLM, Ollama, Hugging Face TEI, LiteLLM, ...).
 */
export interface OpenAIClientOptions {
  /**
   * The API root, including the version segment: the adapters post to
   * `<baseUrl>/embeddings` and `<baseUrl>/chat/completions`.
   * Default `'https://api.openai.com/v1'`; e.g. `'http://localhost:8000/v1'` for
   * vLLM, `'http://localhost:11434/v1'` for Ollama.
   */
  readonly baseUrl?: string | undefined;
  /** Sent as `Authorization: Bearer <apiKey>`. Omit it for servers without auth. */
  readonly apiKey?: string | undefined;
  /** Extra request headers (`OpenAI-Organization`, `api-key`, tracing); they override the adapter's own. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Wait asked of the operator after a 429 or 503 without a `Retry-After` header, in ms. Default 1000. */
  readonly defaultRetryAfterMs?: number | undefined;
  /**
   * Upper bound of a server's `Retry-After`, in ms, so a gateway asking for an
   * hour does not park the job (the operator's retry strategy still limits the
   * attempts). Finite: Infinity is rejected. Default 60000.
   */
  readonly maxRetryAfterMs?: number | undefined;
}

/**
 * What the adapters' batch functions take besides their inputs: the
 * `BatchContext` of `@tributary/async`'s batch operators fits. Its `signal`
 * is passed to `fetch`, so a timed-out or cancelled call stops its request.
 */
export interface CallContext {
  readonly signal?: AbortSignal | undefined;
}
