import type { Clock } from '../runtime/Clock.js';
import { guardedLogger, type LogFields, type LogLevel, type Logger } from './Logger.js';

/** How often a rate-limited event may write a line, per operator subtask. */
export const RATE_LIMIT_MS = 10_000;

interface Held {
  /** Occurrences since the last line. */
  count: number;
  /** When the next line may be written, by the job's clock. */
  nextAt: number;
  level: LogLevel;
  message: (count: number) => string;
  fields: LogFields;
}

/**
 * Writes the runtime's structured events to the job's {@link Logger}: each
 * line carries a stable `event` field and the fields bound to this log (the
 * job, an operator and subtask). A logger that throws loses its line, never
 * the job.
 */
export class EventLog {
  private readonly held = new Map<string, Held>();

  /** The logger, guarded: a line it cannot take (it throws, or its async method rejects) is lost, never the job. */
  readonly logger: Logger;

  constructor(
    logger: Logger,
    private readonly clock: Clock,
    private readonly fields: LogFields,
    /** Every log of the job, so the job's end can write what rate limiting still holds. */
    private readonly family: Set<EventLog> = new Set(),
  ) {
    this.logger = guardedLogger(logger);
    family.add(this);
  }

  /** A log whose lines also carry `fields` (an operator, a subtask). */
  with(fields: LogFields): EventLog {
    return new EventLog(this.logger, this.clock, { ...this.fields, ...fields }, this.family);
  }

  event(level: LogLevel, event: string, message: string, fields: LogFields = {}): void {
    this.logger[level](message, { event, ...this.fields, ...fields });
  }

  /**
   * An event that may happen per record (a dead letter): at most one line per
   * {@link RATE_LIMIT_MS} of the job's clock, with `count` occurrences since
   * the last line; what is held when the job ends is written by {@link flush}.
   */
  rateLimited(level: LogLevel, event: string, message: (count: number) => string, fields: LogFields = {}): void {
    const now = this.clock.now();
    const held = this.held.get(event);
    if (held !== undefined && now < held.nextAt) {
      Object.assign(held, { count: held.count + 1, level, message, fields });
      return;
    }
    const count = (held?.count ?? 0) + 1;
    this.held.set(event, { count: 0, nextAt: now + RATE_LIMIT_MS, level, message, fields });
    this.event(level, event, message(count), { ...fields, count });
  }

  /**
   * Writes the counts rate limiting still holds, on every log of the job, then lets go of the logs bound from this
   * one: they belong to an attempt that has ended (the next binds its own), and a job that restarts often would
   * otherwise keep one per operator per restart.
   */
  flush(): void {
    for (const log of this.family) {
      for (const [event, held] of log.held) {
        if (held.count > 0) log.event(held.level, event, held.message(held.count), { ...held.fields, count: held.count });
        held.count = 0;
      }
      if (log !== this) this.family.delete(log);
    }
  }
}
