import type { OpenAIClientOptions } from '../client.js';
import { OpenAIConnectionError, OpenAIHttpError, OpenAIResponseError } from '../errors.js';
import { parseRetryAfter } from './retryAfter.js';
import type { OptionChecker } from '@tributary/core';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** The names of {@link OpenAIClientOptions}, which every adapter accepts besides its own. */
export const CLIENT_OPTIONS: readonly string[] = ['baseUrl', 'apiKey', 'headers', 'defaultRetryAfterMs', 'maxRetryAfterMs'];

/** One endpoint of an OpenAI-compatible server: posts JSON and turns every failure into the adapter's errors. */
export class Endpoint {
  readonly url: string;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly defaultRetryAfterMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(path: string, options: OpenAIClientOptions, check: OptionChecker) {
    const baseUrl = check.optionalString('baseUrl', options.baseUrl) ?? DEFAULT_BASE_URL;
    if (!/^https?:\/\/./i.test(baseUrl) || !URL.canParse(baseUrl)) check.fail(`option 'baseUrl' must be an http(s) URL, got '${baseUrl}'`);
    this.url = `${baseUrl.replace(/\/+$/, '')}${path}`;
    const apiKey = check.optionalString('apiKey', options.apiKey);
    const headers = check.record('headers', options.headers) ?? {};
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string') check.fail(`header '${name}' must be a string`);
    }
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
      ...(headers as Record<string, string>),
    };
    this.defaultRetryAfterMs = check.optionalDuration('defaultRetryAfterMs', options.defaultRetryAfterMs, 1000);
    // A cap is always finite: a server could otherwise park the job for as long as it likes.
    this.maxRetryAfterMs = check.optionalDuration('maxRetryAfterMs', options.maxRetryAfterMs, 60_000, { infinity: 'a cap is required; give a finite number of ms' });
  }

  /**
   * POSTs `body` as JSON and resolves with the parsed JSON of a 2xx answer.
   * A request cancelled through `signal` rejects with the signal's reason.
   */
  async post(body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url, { method: 'POST', headers: this.headers, body: JSON.stringify(body), signal: signal ?? null });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      throw new OpenAIConnectionError(this.url, error);
    }
    const json = parseJson(text);
    if (!response.ok) {
      const { status } = response;
      const retryAfterMs =
        status === 429 || status === 503
          ? parseRetryAfter(response.headers, Date.now(), this.defaultRetryAfterMs, this.maxRetryAfterMs)
          : undefined;
      throw new OpenAIHttpError(this.url, status, serverMessageOf(json, text), json === NOT_JSON ? text : json, retryAfterMs);
    }
    if (json === NOT_JSON) throw new OpenAIResponseError(this.url, `the body is not JSON: ${snippet(text)}`, text);
    return json;
  }

  /** An {@link OpenAIResponseError} for this endpoint. */
  unusable(problem: string, body: unknown): OpenAIResponseError {
    return new OpenAIResponseError(this.url, problem, body);
  }
}

const NOT_JSON: unique symbol = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** The error text of the usual shapes: OpenAI and vLLM `{error: {message}}`, TEI `{error: '...'}`, FastAPI `{detail}`. */
function serverMessageOf(json: unknown, text: string): string {
  if (isRecord(json)) {
    const { error } = json;
    if (isRecord(error) && typeof error.message === 'string') return error.message;
    if (typeof error === 'string') return error;
    if (typeof json.message === 'string') return json.message;
    if (typeof json.detail === 'string') return json.detail;
  }
  return snippet(text);
}

function snippet(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}...` : trimmed;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
