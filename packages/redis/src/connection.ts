import { messageOf, type EventLog, type OptionChecker } from '@tributary/core';
import { Redis, type RedisOptions } from 'ioredis';
import { IOREDIS_OPTIONS } from './internal/ioredisOptions.js';

/**
 * How to reach Redis: a `redis://` / `rediss://` URL, or ioredis
 * {@link RedisOptions} (host, port, password, tls, retryStrategy, ...), passed
 * through unchanged. Every reader and writer opens its own connections from
 * it, so a blocking read never delays an ack or a write.
 *
 * Option names are checked when the connector is created: a name ioredis
 * does not take (in the object, or in the URL's query, which ioredis reads
 * as options too) is refused, where ioredis would ignore it.
 */
export type RedisConnection = string | RedisOptions;

/**
 * Rejects a connection that is neither a `redis://` / `rediss://` URL (or a
 * socket path) nor an options object, and option names ioredis does not
 * take: `{ hots: 'cache' }` would connect to 127.0.0.1.
 */
export function checkConnection(check: OptionChecker, connection: unknown): void {
  if (typeof connection !== 'string') {
    check.record('redis', connection, IOREDIS_OPTIONS);
    return;
  }
  check.nonEmptyString('redis', connection);
  // ioredis would take any other string as a host name and retry it for a minute before the job failed.
  if (!/^rediss?:\/\//.test(connection) && !connection.startsWith('/')) {
    check.fail(`option 'redis' must be a redis:// or rediss:// URL, a socket path or an options object, got '${connection}'`);
  }
  check.known(Object.fromEntries(queryOf(check, connection)), IOREDIS_OPTIONS, 'redis');
}

/** The query of a connection URL or socket path (`/tmp/redis.sock?db=2`): ioredis takes each parameter as an option. */
function queryOf(check: OptionChecker, connection: string): URLSearchParams {
  if (connection.startsWith('/')) {
    const at = connection.indexOf('?');
    return new URLSearchParams(at === -1 ? '' : connection.slice(at + 1));
  }
  try {
    return new URL(connection).searchParams;
  } catch {
    // Not shown: the URL may hold a password.
    return check.fail("option 'redis' is not a valid URL (percent-encode reserved characters such as '@', '/', '#' or '?' in a user name or password)");
  }
}

/**
 * Opens a client named `name` (visible in `CLIENT LIST`) unless the options name it; `overrides` win over the user's options.
 * With a `log`, a connection that fails is reported there (rate limited: ioredis goes on reconnecting), and so is its return.
 */
export function openClient(connection: RedisConnection | undefined, name: string, overrides: RedisOptions = {}, log?: EventLog): Redis {
  const client =
    typeof connection === 'string'
      ? new Redis(connection, { connectionName: name, ...overrides } as RedisOptions & { replyMapping?: 'legacy' })
      : // Any `replyMapping` works at run time: the replies are parsed in every shape (see internal/replies.ts).
        new Redis({ connectionName: name, ...(connection ?? {}), ...overrides } as RedisOptions & { replyMapping?: 'legacy' });
  // ioredis reconnects by itself; without a listener each failed attempt would be printed as "Unhandled error event".
  let failing = false;
  client.on('error', (error: unknown) => {
    failing = true;
    log?.rateLimited(
      'warn',
      'redis.connectionFailed',
      (count) => `Redis connection '${name}' failed: ${messageOf(error)} (${count} time${count === 1 ? '' : 's'}; reconnecting)`,
      { connection: name },
    );
  });
  client.on('ready', () => {
    if (!failing) return;
    failing = false;
    log?.event('info', 'redis.connected', `Redis connection '${name}' is back`, { connection: name });
  });
  return client;
}

/** Closes a client without waiting for commands still blocked on the server. */
export function closeClient(client: Redis): void {
  const betweenAttempts = client.status === 'reconnecting';
  client.disconnect(false);
  // Between two attempts to reconnect ioredis (6.0) has no socket to close: it stops retrying but keeps the commands
  // queued for ever, so a close that waits for them never ends. End it as its close handler does when it gives up.
  if (betweenAttempts) {
    const internals = client as unknown as { setStatus(status: string): void; flushQueue(error: Error): void };
    internals.setStatus('end');
    internals.flushQueue(new Error('Connection is closed.'));
  }
}
