import { OptionChecker, SystemClock, type Clock, type Source, type SourceReader, type SourceReaderContext } from '@tributary/core';
import { checkConnection, type RedisConnection } from './connection.js';
import { RedisStreamReader } from './internal/RedisStreamReader.js';
import type { RedisStreamRecord } from './records.js';

/**
 * When the source acks (`XACK`) an entry.
 *
 * - `on-checkpoint` (default): when the checkpoint that covers it completes.
 *   At least once: an entry leaves the consumer group's pending list only
 *   once the job's checkpoint holds everything it led to. Needs
 *   `env.enableCheckpointing(...)`; without it entries are never acked and
 *   the reader stops at `maxUnacked` (with a process warning,
 *   `TRIBUTARY_REDIS_NO_CHECKPOINT`).
 * - `on-read`: when the reader is asked for its next batch, i.e. once the
 *   previous batch was pushed into the pipeline. At most once across a
 *   crash (records still inside the pipeline are lost); for jobs without
 *   checkpointing whose output may miss records but must not stall.
 */
export type AckMode = 'on-checkpoint' | 'on-read';

/** Taking over entries a dead consumer left pending (`XAUTOCLAIM`). */
export interface ReclaimOptions {
  /**
   * An entry pending this long (ms since its last delivery) counts as
   * abandoned and is claimed. Must exceed the time an entry of a live worker
   * stays unacked: checkpoint interval + checkpoint duration, with margin.
   * Otherwise a slow but live worker's entries are claimed and processed twice.
   * Default 60,000.
   */
  readonly minIdleMs?: number;
  /** How often a claim scan starts (ms; the first one runs at start). Default 10,000. */
  readonly intervalMs?: number;
}

/** Options of {@link RedisStreamSource}. */
export interface RedisStreamSourceOptions<T> {
  /** Where Redis is. Default: ioredis' default, `127.0.0.1:6379`. */
  readonly redis?: RedisConnection;
  /** The stream key. */
  readonly stream: string;
  /** The consumer group: every worker reading the same stream with the same group shares its entries. */
  readonly group: string;
  /**
   * This worker's name in the group; keep it stable across restarts, since a
   * restarted worker re-reads the entries pending under its name. With a
   * source parallelism above 1, subtask `i` reads as `<consumer>-<i>`.
   */
  readonly consumer: string;
  /**
   * Turns an entry's fields into a record. An exception makes the entry a
   * {@link RedisDecodeFailure} (see {@link splitDecodeFailures}) instead of
   * failing the job. Field values arrive as UTF-8 text: bytes that are not
   * UTF-8 (a `Buffer` another writer stored) arrive altered, so write binary
   * data as base64.
   */
  readonly decode: (fields: Readonly<Record<string, string>>, id: string) => T;
  /**
   * Create the group (`XGROUP CREATE <stream> <group> <id> MKSTREAM`) when it
   * does not exist: from the stream's first entry (`'0'`) or only entries
   * added from now on (`'$'`). Default: the group must exist.
   */
  readonly createGroup?: '0' | '$';
  /** Entries per `XREADGROUP` (`COUNT`), at most. Default 256. */
  readonly count?: number;
  /**
   * How long one `XREADGROUP` waits for new entries (`BLOCK`, ms). Bounded,
   * so claim scans run between reads; checkpoint barriers and cancellation
   * do not wait for it. Default 1,000.
   */
  readonly blockMs?: number;
  /** When entries are acked. Default `'on-checkpoint'`. */
  readonly ack?: AckMode;
  /**
   * Entries this reader may hold unacked (read, or acked but not yet
   * confirmed by Redis). When reached, it reads nothing until a checkpoint
   * acks some. This bounds what a crashed worker leaves pending, hence the
   * duplicates its crash can cause, and the memory of the bookkeeping.
   * Throughput is at most `maxUnacked` per checkpoint interval. Default 10,000.
   */
  readonly maxUnacked?: number;
  /** Claim entries other (dead) consumers left pending. Default `{ minIdleMs: 60_000, intervalMs: 10_000 }`; `false` turns it off. */
  readonly reclaim?: ReclaimOptions | false;
  /** Times the claim scans. Default: a {@link SystemClock}. */
  readonly clock?: Clock;
}

/**
 * A checkpointed position of a {@link RedisStreamSource} reader: how many
 * entries it had returned when the barrier passed. The entries themselves
 * stay in Redis' pending list until acked, so the position only tells the
 * reader which of them a completed checkpoint covers.
 */
export interface RedisStreamPosition {
  /** The consumer name the reader read as. */
  readonly consumer: string;
  /** Entries returned by `read()` since the reader started. */
  readonly returned: number;
}

const SOURCE_OPTIONS = ['redis', 'stream', 'group', 'consumer', 'decode', 'createGroup', 'count', 'blockMs', 'ack', 'maxUnacked', 'reclaim', 'clock'];
const RECLAIM_OPTIONS = ['minIdleMs', 'intervalMs'];

const DEFAULTS = { count: 256, blockMs: 1_000, maxUnacked: 10_000, minIdleMs: 60_000, intervalMs: 10_000 } as const;
/** Redis takes `BLOCK` and `XAUTOCLAIM`'s times in whole ms; 0 would block forever, scan without pause, or claim live entries. */
const WHOLE_MS = { positive: true, integer: true } as const;

/** Options with defaults applied, as the reader uses them. */
export interface ResolvedSourceOptions<T> {
  readonly redis: RedisConnection | undefined;
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly decode: (fields: Readonly<Record<string, string>>, id: string) => T;
  readonly createGroup: '0' | '$' | undefined;
  readonly count: number;
  readonly blockMs: number;
  readonly ack: AckMode;
  readonly maxUnacked: number;
  readonly reclaim: Required<ReclaimOptions> | false;
  readonly clock: Clock;
}

function resolve<T>(options: RedisStreamSourceOptions<T>): ResolvedSourceOptions<T> {
  const check = new OptionChecker('RedisStreamSource');
  check.known(check.object(options), SOURCE_OPTIONS);
  checkConnection(check, options.redis);
  for (const name of ['stream', 'group', 'consumer'] as const) check.nonEmptyString(name, options[name]);
  check.func('decode', options.decode);
  const createGroup = check.optionalOneOf('createGroup', options.createGroup, ['0', '$']);
  const ack = check.oneOf('ack', options.ack, ['on-checkpoint', 'on-read'], 'on-checkpoint');
  const count = check.optionalInteger('count', options.count, DEFAULTS.count);
  const blockMs = check.optionalDuration('blockMs', options.blockMs, DEFAULTS.blockMs, WHOLE_MS);
  const maxUnacked = check.optionalInteger('maxUnacked', options.maxUnacked, DEFAULTS.maxUnacked);
  let reclaim: Required<ReclaimOptions> | false = false;
  if (options.reclaim !== false) {
    const given = check.record('reclaim', options.reclaim, RECLAIM_OPTIONS) ?? {};
    reclaim = {
      // 0 would claim the live consumers' entries at once: every entry read twice.
      minIdleMs: check.optionalDuration('reclaim.minIdleMs', given.minIdleMs, DEFAULTS.minIdleMs, WHOLE_MS),
      intervalMs: check.optionalDuration('reclaim.intervalMs', given.intervalMs, DEFAULTS.intervalMs, WHOLE_MS),
    };
  }
  return {
    redis: options.redis,
    stream: options.stream,
    group: options.group,
    consumer: options.consumer,
    decode: options.decode,
    createGroup,
    count,
    blockMs,
    ack,
    maxUnacked,
    reclaim,
    clock: check.optionalClock('clock', options.clock) ?? new SystemClock(),
  };
}

/**
 * Reads a Redis stream through a consumer group: start the same job in N
 * processes with the same group and different consumer names, and Redis
 * splits the entries between them.
 *
 * Details:
 * - Reads with `XREADGROUP GROUP <group> <consumer> COUNT <count> BLOCK <blockMs> STREAMS <stream> >`.
 * - Acks (`XACK`) when the checkpoint covering an entry completes (see
 *   {@link AckMode}): at least once. Entries read since the last completed
 *   checkpoint stay pending in Redis, under this consumer's name.
 * - On start (and after a reconnect) it first re-reads this consumer's own
 *   pending entries (`XREADGROUP ... 0`): delivered before, never acked.
 * - Every `reclaim.intervalMs` it claims entries that any consumer left
 *   pending longer than `reclaim.minIdleMs` (`XAUTOCLAIM`): a crashed
 *   worker's entries are finished by the survivors.
 * - Emits {@link RedisStreamRecord}s: decoded entries and decode failures;
 *   {@link splitDecodeFailures} routes the failures to a side output.
 * - Unbounded: the job runs until it is cancelled (`JobClient.cancel()`).
 *
 * Gotchas:
 * - A worker restored from a checkpoint re-dispatches the records that
 *   checkpoint holds in operator state (an async operator's in-flight
 *   records): their entries were acked when it completed. Restart a crashed
 *   worker with the same consumer name and checkpoint storage; survivors
 *   only take over what it left pending in Redis.
 * - Ordering holds per consumer and read; claimed and re-read entries come
 *   out of order, and parallel workers interleave.
 *
 * @example
 * ```ts
 * const env = StreamExecutionEnvironment.create();
 * env.enableCheckpointing(1_000, { storage: `./checkpoints/${worker}` });
 * const orders = splitDecodeFailures(
 *   env.fromSource(
 *     new RedisStreamSource({
 *       redis: 'redis://127.0.0.1:6379',
 *       stream: 'orders', group: 'billing', consumer: worker, createGroup: '0',
 *       decode: (fields) => JSON.parse(fields.body ?? '') as Order,
 *     }),
 *     'orders',
 *   ).uid('orders'),
 * );
 * ```
 */
export class RedisStreamSource<T> implements Source<RedisStreamRecord<T>, RedisStreamPosition> {
  readonly parallel = true;
  /** Entries no checkpoint covers stay pending (unacked) under this consumer, and a new reader re-reads them on start. */
  readonly replayable = true;
  private readonly options: ResolvedSourceOptions<T>;

  constructor(options: RedisStreamSourceOptions<T>) {
    this.options = resolve(options);
  }

  createReader(ctx: SourceReaderContext): SourceReader<RedisStreamRecord<T>, RedisStreamPosition> {
    const consumer = ctx.parallelism > 1 ? `${this.options.consumer}-${ctx.subtaskIndex}` : this.options.consumer;
    return new RedisStreamReader(this.options, consumer, ctx.signal, ctx.log, ctx.checkpointing, ctx.drainSignal);
  }
}
