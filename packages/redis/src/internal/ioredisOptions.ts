import type { RedisOptions } from 'ioredis';

/**
 * Every option name ioredis' standalone client (`new Redis(options)`) takes,
 * as its `RedisOptions` type declares them: its own options, the standalone
 * connector's and the sentinel connector's. The mapped type makes the
 * compiler hold this to the installed ioredis: an option it adds is missing
 * here, one it removes is excess (test/ioredisOptions.test.ts also compares
 * it with ioredis' run-time defaults).
 */
const NAMES: { readonly [K in keyof RedisOptions]-?: true } = {
  // Connection (standalone connector)
  host: true,
  port: true,
  family: true,
  path: true,
  tls: true,
  connectTimeout: true,
  disconnectTimeout: true,
  socketTimeout: true,
  keepAlive: true,
  noDelay: true,
  Connector: true,
  // Authentication and session
  username: true,
  password: true,
  db: true,
  connectionName: true,
  disableClientInfo: true,
  clientInfoTag: true,
  readOnly: true,
  protocol: true,
  replyMapping: true,
  stringNumbers: true,
  keyPrefix: true,
  showFriendlyErrorStack: true,
  monitor: true,
  scripts: true,
  himportFieldsets: true,
  // Reconnects, timeouts and queues
  retryStrategy: true,
  reconnectOnError: true,
  commandTimeout: true,
  blockingTimeout: true,
  blockingTimeoutGrace: true,
  maxRetriesPerRequest: true,
  maxLoadingRetryTime: true,
  autoResubscribe: true,
  autoResendUnfulfilledCommands: true,
  enableOfflineQueue: true,
  offlineQueue: true,
  commandQueue: true,
  enableReadyCheck: true,
  lazyConnect: true,
  enableAutoPipelining: true,
  autoPipeliningIgnoredCommands: true,
  // Sentinel
  sentinels: true,
  name: true,
  role: true,
  sentinelUsername: true,
  sentinelPassword: true,
  sentinelRetryStrategy: true,
  sentinelReconnectStrategy: true,
  sentinelCommandTimeout: true,
  sentinelMaxConnections: true,
  sentinelTLS: true,
  enableTLSForSentinelMode: true,
  preferredSlaves: true,
  natMap: true,
  updateSentinels: true,
  failoverDetector: true,
};

/** The option names a `redis` connection object (or a connection URL's query) may hold. */
export const IOREDIS_OPTIONS: readonly string[] = Object.keys(NAMES);
