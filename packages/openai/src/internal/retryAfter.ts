/**
 * How long a throttled response asks the client to wait, in ms: OpenAI's
 * `retry-after-ms`, else `Retry-After` as seconds or as an HTTP date (relative to
 * `now`, wall-clock ms), else `fallbackMs`; never more than `maxMs`.
 */
export function parseRetryAfter(headers: Headers, now: number, fallbackMs: number, maxMs: number): number {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Math.min(Number(ms), maxMs);
  const value = headers.get('retry-after')?.trim();
  if (value !== undefined) {
    if (/^\d+(\.\d+)?$/.test(value)) return Math.min(Number(value) * 1000, maxMs);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.min(Math.max(0, date - now), maxMs);
  }
  return Math.min(fallbackMs, maxMs);
}
