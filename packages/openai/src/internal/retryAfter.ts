/**
 * How long a throttled response asks the client to wait, in ms: OpenAI's
 * `retry-after-ms`, else `Retry-After` as seconds or as an HTTP date (relative to
 * `now`, wall-clock ms), else `fallbackMs`; never more than `maxMs`. A header
 * sent twice reaches us joined by `, ` (fetch does that): its first value counts.
 */
export function parseRetryAfter(headers: Headers, now: number, fallbackMs: number, maxMs: number): number {
  const ms = SECONDS.exec(headers.get('retry-after-ms') ?? '');
  if (ms !== null) return Math.min(Number(ms[1]), maxMs);
  const value = headers.get('retry-after') ?? '';
  const seconds = SECONDS.exec(value);
  if (seconds !== null) return Math.min(Number(seconds[1]) * 1000, maxMs);
  const date = httpDate(value, now);
  if (date !== undefined) return Math.min(Math.max(0, date - now), maxMs);
  return Math.min(fallbackMs, maxMs);
}

/** Delta-seconds (fractions tolerated), alone or first in a comma-joined list. */
const SECONDS = /^\s*(\d+(?:\.\d+)?)\s*(?:,|$)/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** What follows a date: the end, or the next value of a comma-joined list. */
const END = '\\s*(?:,|$)';
// The three forms of RFC 9110 5.6.7; Date.parse is no judge: it reads '-5' or '12 5' as dates long past (a wait of 0).
const IMF_FIXDATE = new RegExp(`^\\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT${END}`);
const RFC_850 = new RegExp(`^\\s*(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT${END}`);
const ASCTIME = new RegExp(`^\\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})${END}`);

/** An HTTP date in ms since the epoch, or undefined when `value` is not one. */
function httpDate(value: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) return utc(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = RFC_850.exec(value);
  if (m !== null) {
    // A two-digit year more than 50 years ahead is in the past century (RFC 9110 5.6.7).
    let year = 2000 + Number(m[3]);
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100;
    return utc(year, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME.exec(value);
  if (m !== null) return utc(Number(m[6]), m[1]!, m[2]!, m[3]!, m[4]!, m[5]!);
  return undefined;
}

/** The instant of a date's fields, or undefined for one that does not exist (31 Feb, 25:00). */
function utc(year: number, month: string, day: string, hour: string, minute: string, second: string): number | undefined {
  const [d, h, min, s] = [day, hour, minute, second].map(Number) as [number, number, number, number];
  const m = MONTHS.indexOf(month);
  const time = Date.UTC(year, m, d, h, min, s);
  return new Date(time).getUTCDate() === d && h <= 23 && min <= 59 && s <= 60 ? time : undefined;
}
