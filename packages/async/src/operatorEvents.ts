import { messageOf, type EventLog } from '@tributary/core';

/**
 * The async operator's structured events (see docs/observability.md), kept
 * here so the operator's sites stay one call each.
 */

/** The AIMD concurrency limit moved (halved by throttling, or grown back by successes). */
export function limitChanged(log: EventLog): (limit: number, previous: number) => void {
  return (limit, previous) => log.event('info', 'async.limitChanged', `concurrency limit ${previous} -> ${limit}`, { limit, previous });
}

/** A call was throttled (a `retryAfterMs` reached the operator): rate-limited, with the count. */
export function throttled(log: EventLog, limit: number): void {
  log.rateLimited('warn', 'async.throttled', (n) => `${n} call${n === 1 ? ' was' : 's were'} throttled; concurrency limit now ${limit}`, { limit });
}

/** A record went to the dead-letter output: rate-limited, with the count and the last error. */
export function deadLettered(log: EventLog, error: unknown, attempts: number): void {
  const lastError = messageOf(error);
  log.rateLimited('warn', 'async.deadLettered', (n) => `${n} record${n === 1 ? '' : 's'} dead-lettered, last after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastError}`, {
    lastError,
    attempts,
  });
}
