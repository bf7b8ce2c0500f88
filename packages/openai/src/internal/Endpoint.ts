import { describeValue, type OptionChecker } from '@tributary/core';
import type { OpenAIClientOptions } from '../client.js';
import { OpenAIConnectionError, OpenAIHttpError, OpenAIRedirectError, OpenAIResponseError } from '../errors.js';
import { displayUrl, headerSecrets, Redactor, withoutCredentials } from './Redactor.js';
import { contentLength, readBody, type BodyText } from './responseBody.js';
import { parseRetryAfter } from './retryAfter.js';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024;
/** An error body is read for its message only: its first 64 KiB are plenty. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** How much of a server's text an error message quotes. */
const MAX_MESSAGE_CHARS = 1000;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~\dA-Za-z-]+$/;

/** The names of {@link OpenAIClientOptions}, which every adapter accepts besides its own. */
export const CLIENT_OPTIONS: readonly string[] = ['baseUrl', 'apiKey', 'headers', 'defaultRetryAfterMs', 'maxRetryAfterMs', 'maxResponseBytes'];

/**
 * One endpoint of an OpenAI-compatible server: posts JSON and turns every
 * failure into the adapter's errors, which never show the user's secrets.
 */
export class Endpoint {
  /** The endpoint's URL as errors show it. */
  readonly url: string;
  private readonly target: URL;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly redactor: Redactor;
  private readonly defaultRetryAfterMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxResponseBytes: number;

  constructor(path: string, options: OpenAIClientOptions, check: OptionChecker) {
    this.target = targetUrl(path, options.baseUrl, check);
    this.url = displayUrl(this.target);
    const apiKey = check.optionalString('apiKey', options.apiKey);
    if (apiKey !== undefined) checkHeaderValue(check, `option 'apiKey'`, apiKey);
    const headers = check.record('headers', options.headers) ?? {};
    const spelled = new Map<string, string>();
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name)) check.fail(`header name ${describeValue(name)} is not a valid HTTP header name`);
      if (typeof value !== 'string') check.fail(`header '${name}' must be a string`);
      checkHeaderValue(check, `header '${name}'`, value);
      const lower = name.toLowerCase();
      const first = spelled.get(lower);
      if (first !== undefined) check.fail(`header '${lower}' is given twice ('${first}' and '${name}'); header names are case-insensitive`);
      spelled.set(lower, name);
    }
    const userHeaders = headers as Record<string, string>;
    // Lower-cased names, so `Authorization` replaces the apiKey's header: fetch would send both, joined by ', '.
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
      ...Object.fromEntries(Object.entries(userHeaders).map(([name, value]) => [name.toLowerCase(), value])),
    };
    this.redactor = new Redactor([
      ...(apiKey === undefined ? [] : [apiKey]),
      ...Object.entries(userHeaders).flatMap(([name, value]) => headerSecrets(name, value)),
      ...this.target.searchParams.values(),
    ]);
    this.defaultRetryAfterMs = check.optionalDuration('defaultRetryAfterMs', options.defaultRetryAfterMs, 1000);
    // A cap is always finite: a server could otherwise park the job for as long as it likes.
    this.maxRetryAfterMs = check.optionalDuration('maxRetryAfterMs', options.maxRetryAfterMs, 60_000, { infinity: 'a cap is required; give a finite number of ms' });
    if (this.defaultRetryAfterMs > this.maxRetryAfterMs) {
      check.fail(`option 'defaultRetryAfterMs' (${this.defaultRetryAfterMs}) is above 'maxRetryAfterMs' (${this.maxRetryAfterMs}), the cap of every wait; raise maxRetryAfterMs`);
    }
    this.maxResponseBytes = check.optionalInteger('maxResponseBytes', options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES);
  }

  /**
   * POSTs `body` as JSON and resolves with the parsed JSON of a 2xx answer.
   * Follows same-origin 307/308 redirects only. A request cancelled through
   * `signal` rejects with the signal's reason.
   */
  async post(body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const payload = JSON.stringify(body);
    let url = this.target;
    for (let redirects = 0; ; redirects++) {
      const response = await this.send(url, payload, signal);
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return this.answer(response, url, signal);
      await response.body?.cancel();
      url = redirectTarget(url, response.status, location, redirects);
    }
  }

  /** An {@link OpenAIResponseError} for this endpoint. */
  unusable(problem: string, body: unknown): OpenAIResponseError {
    return new OpenAIResponseError(this.url, this.redactor.text(problem), this.redactor.value(body));
  }

  private async send(url: URL, payload: string, signal: AbortSignal | undefined): Promise<Response> {
    try {
      return await fetch(url, { method: 'POST', headers: this.headers, body: payload, signal: signal ?? null, redirect: 'manual' });
    } catch (error) {
      throw this.connectionFailure(url, error, signal);
    }
  }

  private async answer(response: Response, url: URL, signal: AbortSignal | undefined): Promise<unknown> {
    if (!response.ok) throw await this.httpError(response, url, signal);
    const declared = contentLength(response);
    if (declared !== undefined && declared > this.maxResponseBytes) {
      await response.body?.cancel();
      throw this.tooLarge(url, `${declared} bytes`);
    }
    const body = await this.read(response, url, this.maxResponseBytes, signal);
    if (!body.complete) throw this.tooLarge(url, body.size);
    const json = parseJson(body.text);
    if (json === NOT_JSON) {
      const text = this.redactor.text(body.text);
      throw new OpenAIResponseError(displayUrl(url), `the body is not JSON: ${excerpt(text, body.size)}`, text);
    }
    return json;
  }

  private async httpError(response: Response, url: URL, signal: AbortSignal | undefined): Promise<OpenAIHttpError> {
    // What came of a body the connection cut off: the status and Retry-After still decide (a 429 throttles, a 401 is final).
    const body = await readBody(response, MAX_ERROR_BODY_BYTES, true);
    if (body.broken !== undefined && signal?.aborted === true) throw signal.reason;
    const text = this.redactor.text(body.text);
    const json = body.complete ? parseJson(body.text) : NOT_JSON;
    const shown = json === NOT_JSON ? text : this.redactor.value(json);
    const { status } = response;
    const retryAfterMs =
      status === 429 || status === 503 ? parseRetryAfter(response.headers, Date.now(), this.defaultRetryAfterMs, this.maxRetryAfterMs) : undefined;
    const message = excerpt(serverMessageOf(shown, text), body.size);
    const cut = body.broken === undefined ? '' : `${message === '' ? '' : ' '}(the body was cut off: the connection broke after ${body.broken})`;
    return new OpenAIHttpError(displayUrl(url), status, `${message}${cut}`, shown, retryAfterMs);
  }

  private async read(response: Response, url: URL, maxBytes: number, signal: AbortSignal | undefined): Promise<BodyText> {
    try {
      return await readBody(response, maxBytes);
    } catch (error) {
      throw this.connectionFailure(url, error, signal);
    }
  }

  private connectionFailure(url: URL, error: unknown, signal: AbortSignal | undefined): unknown {
    return signal?.aborted === true ? signal.reason : new OpenAIConnectionError(displayUrl(url), this.redactor.error(error));
  }

  private tooLarge(url: URL, size: string): OpenAIResponseError {
    return new OpenAIResponseError(
      displayUrl(url),
      `the body (${size}) is larger than maxResponseBytes (${this.maxResponseBytes}), so it was not read further: raise 'maxResponseBytes' or send smaller batches`,
      undefined,
    );
  }
}

/**
 * Refuses a field of option `body` that the adapter sets itself (`fields`: the
 * field and the option it comes from): it would be overwritten without a word.
 */
export function refuseOwnFields(check: OptionChecker, body: Readonly<Record<string, unknown>>, fields: Readonly<Record<string, string>>): void {
  for (const [field, option] of Object.entries(fields)) {
    if (Object.hasOwn(body, field)) check.fail(`option 'body' must not set '${field}': the adapter sets it from option ${option}`);
  }
}

/** `<baseUrl><path>`, a query of `baseUrl` kept after the path; error messages never echo credentials. */
function targetUrl(path: string, baseUrl: unknown, check: OptionChecker): URL {
  const base = check.optionalString('baseUrl', baseUrl) ?? DEFAULT_BASE_URL;
  if (!/^https?:\/\/./i.test(base) || !URL.canParse(base)) check.fail(`option 'baseUrl' must be an http(s) URL, got '${withoutCredentials(base)}'`);
  const url = new URL(base);
  if (url.username !== '' || url.password !== '') {
    check.fail(`option 'baseUrl' must not hold credentials (user:password@): send them in 'headers', e.g. { authorization: 'Basic ...' }`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.hash = '';
  return url;
}

/** Rejects what `fetch` would refuse in a header value, without showing the value: it is a secret. */
function checkHeaderValue(check: OptionChecker, what: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 0x0a || code === 0x0d || code > 0xff) {
      check.fail(`${what} holds a character an HTTP header cannot carry (U+${code.toString(16).toUpperCase().padStart(4, '0')} at index ${i}); the value is not shown`);
    }
  }
}

/**
 * Where a redirect leads when the adapter follows it: same-origin 307 and
 * 308, which keep the POST and its body. Anything else would send the
 * documents and credentials elsewhere or drop the body, so it fails.
 */
function redirectTarget(from: URL, status: number, location: string, redirects: number): URL {
  const to = URL.canParse(location, from.href) ? new URL(location, from) : undefined;
  if (to === undefined) throw new OpenAIRedirectError(displayUrl(from), status, 'a location that is not a URL', 'point baseUrl at the final URL');
  if (to.origin !== from.origin) {
    throw new OpenAIRedirectError(
      displayUrl(from),
      status,
      `${to.protocol}//${to.host}`,
      'it is another origin: the request (documents, API key, headers) was not sent there; point baseUrl at that server if you trust it',
    );
  }
  if (status !== 307 && status !== 308) {
    throw new OpenAIRedirectError(displayUrl(from), status, displayUrl(to), `a ${status} would turn the POST into a GET; point baseUrl at the final URL`);
  }
  if (redirects >= MAX_REDIRECTS) throw new OpenAIRedirectError(displayUrl(from), status, displayUrl(to), `after ${MAX_REDIRECTS} redirects in a row`);
  // fetch refuses a URL with credentials; the same origin needs none to be reached.
  to.username = '';
  to.password = '';
  return to;
}

const NOT_JSON: unique symbol = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** The error text of the usual shapes: OpenAI and vLLM `{error: {message}}`, TEI `{error: '...'}`, FastAPI `{detail}`; else the body text. */
function serverMessageOf(body: unknown, text: string): string {
  if (isRecord(body)) {
    const { error } = body;
    if (isRecord(error) && typeof error.message === 'string') return error.message;
    if (typeof error === 'string') return error;
    if (typeof body.message === 'string') return body.message;
    if (typeof body.detail === 'string') return body.detail;
  }
  return text;
}

/** At most {@link MAX_MESSAGE_CHARS} of a server's text for an error message; a cut one says how big the body was. */
function excerpt(text: string, size: string): string {
  const trimmed = text.trim();
  return trimmed.length <= MAX_MESSAGE_CHARS ? trimmed : `${trimmed.slice(0, MAX_MESSAGE_CHARS)}... (cut; the body was ${size})`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
