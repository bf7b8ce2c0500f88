/** What stands in an error for a secret that was removed from it. */
export const REDACTED = '[redacted]';

/** Shorter values are left alone: blanking every `1` or `on` would garble messages and hide no secret. */
const MIN_SECRET_CHARS = 4;

/**
 * Removes the secrets of one adapter (the API key, every header value the
 * user passed, the values of the base URL's query) from what its errors show:
 * texts, parsed response bodies, URLs and error chains.
 */
export class Redactor {
  /** Each secret as it may appear in a text: raw, JSON-escaped, URL-encoded; longest first. */
  private readonly forms: readonly string[];

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_CHARS) continue;
      forms.add(secret).add(JSON.stringify(secret).slice(1, -1)).add(encodeURIComponent(secret));
    }
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  text(text: string): string {
    return this.forms.reduce((out, form) => out.split(form).join(REDACTED), text);
  }

  /** A parsed JSON value with the secrets redacted from every string in it, keys included. */
  value(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.text(key), this.value(item)]));
  }

  /** `error` itself when no secret is in its messages (causes included), else a copy of the chain without them. */
  error(error: unknown): unknown {
    if (typeof error === 'string') return this.text(error);
    if (!(error instanceof Error)) return error;
    const cause = this.error(error.cause);
    const message = this.text(error.message);
    if (message === error.message && cause === error.cause) return error;
    const copy = new Error(message, cause === undefined ? undefined : { cause });
    copy.name = error.name;
    return copy;
  }
}

/** `<scheme> <credentials>` (RFC 9110 11.4), e.g. `Bearer sk-...`, `Basic dXNlcjpwdw==`. */
const CREDENTIALS = /^\s*([!#$%&'*+.^_`|~\dA-Za-z-]+)\s+(\S+)\s*$/;
/** Schemes recognised in any header; in `authorization` and `proxy-authorization` every scheme is. */
const KNOWN_SCHEMES: ReadonlySet<string> = new Set(['bearer', 'basic', 'token', 'apikey']);

/**
 * The secrets of one request header: its value, and the credentials after an
 * auth scheme word, which a server may echo alone (`Incorrect API key: sk-...`);
 * for `Basic`, also the decoded `user:password` and the password.
 */
export function headerSecrets(name: string, value: string): string[] {
  const match = CREDENTIALS.exec(value);
  const scheme = match?.[1]?.toLowerCase();
  const credentials = match?.[2];
  const authHeader = /^(proxy-)?authorization$/i.test(name);
  if (scheme === undefined || credentials === undefined || (!authHeader && !KNOWN_SCHEMES.has(scheme))) return [value];
  const secrets = [value, credentials];
  if (scheme === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Only real base64 of printable text: anything else decodes to noise that would blank out random text.
    if (colon >= 0 && Buffer.from(decoded, 'utf8').toString('base64').replace(/=+$/, '') === credentials.replace(/=+$/, '') && !/[\p{Cc}]/u.test(decoded)) {
      secrets.push(decoded, decoded.slice(colon + 1));
    }
  }
  return secrets;
}

/**
 * A URL as errors show it: no `user:password@`, every query value replaced,
 * no fragment. Query values are treated as secrets because gateways take keys
 * there (`?key=...`).
 */
export function displayUrl(url: URL): string {
  const names = [...url.searchParams.keys()];
  const query = names.length === 0 ? '' : `?${names.map((name) => `${encodeURIComponent(name)}=${REDACTED}`).join('&')}`;
  return `${url.origin}${url.pathname}${query}`;
}

/** A URL text that may not parse, with everything between its scheme and its last `@` (credentials) removed. */
export function withoutCredentials(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[a-z][a-z\d+.-]*:\/\//i.exec(text)?.[0] ?? '';
  return `${scheme}${REDACTED}${text.slice(at)}`;
}
