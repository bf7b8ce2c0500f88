import { inspect } from 'node:util';

/** Structured fields of a log line: `{ event: 'checkpoint.completed', checkpointId: 7, ... }`. */
export type LogFields = Readonly<Record<string, unknown>>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Where a job's log lines go: a message and its fields, at four levels.
 *
 * `console` and a winston logger satisfy it as they are; pino takes its
 * fields first, so wrap it in {@link fieldsFirst}. Every line the runtime
 * writes has a stable `event` field (see docs/observability.md).
 *
 * @example
 * ```ts
 * import { StreamExecutionEnvironment } from '@tributary/core';
 *
 * const env = StreamExecutionEnvironment.create({ logger: console });
 * ```
 */
export interface Logger {
  debug(message: string, fields: LogFields): void;
  info(message: string, fields: LogFields): void;
  warn(message: string, fields: LogFields): void;
  error(message: string, fields: LogFields): void;
}

/** A logger that takes its fields first, as pino does: `log.info({ event }, 'message')`. */
export interface FieldsFirstLogger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/**
 * Adapts a logger that takes its fields first (pino) to {@link Logger}.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { fieldsFirst, StreamExecutionEnvironment } from '@tributary/core';
 *
 * const env = StreamExecutionEnvironment.create({ logger: fieldsFirst(pino()) });
 * ```
 */
export function fieldsFirst(logger: FieldsFirstLogger): Logger {
  return {
    debug: (message, fields) => logger.debug(fields, message),
    info: (message, fields) => logger.info(fields, message),
    warn: (message, fields) => logger.warn(fields, message),
    error: (message, fields) => logger.error(fields, message),
  };
}

/** Drops every line: `StreamExecutionEnvironment.create({ logger: silentLogger })`. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The default: warnings and errors to stderr (through `console`), one line
 * each with its fields; debug and info are dropped.
 */
export const stderrLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) => console.warn(logLine('warn', message, fields)),
  error: (message, fields) => console.error(logLine('error', message, fields)),
};

/** `[tributary] warn job.restarting: <message> { job: 'orders', ... }`, on one line whatever the fields hold. */
export function logLine(level: LogLevel, message: string, fields: LogFields): string {
  const event = typeof fields.event === 'string' ? ` ${fields.event}:` : '';
  return `[tributary] ${level}${event} ${message.replaceAll('\n', '\\n')} ${inspect(fields, { breakLength: Number.POSITIVE_INFINITY, depth: 4 })}`;
}

/** Loggers {@link guardedLogger} made: guarding one again would only add a call. */
const guarded = new WeakSet<Logger>();

/**
 * A logger as the runtime calls it: a line the logger cannot take, whether it throws or its method is async and
 * rejects, is lost, and never fails the job (or, unhandled, the process).
 */
export function guardedLogger(logger: Logger): Logger {
  if (guarded.has(logger)) return logger;
  const guard =
    (level: LogLevel) =>
    (message: string, fields: LogFields): void => {
      try {
        const returned: unknown = logger[level](message, fields);
        if (returned instanceof Promise) returned.catch(() => undefined);
      } catch {
        // A broken logger must not fail the job it reports on.
      }
    };
  const safe: Logger = { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') };
  guarded.add(safe);
  return safe;
}
