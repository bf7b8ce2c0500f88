import type { Redis } from 'ioredis';
import { describeValue, messageOf, OptionChecker, yieldToEventLoop, type Sink, type SinkWriter, type SinkWriterContext } from '@tributary/core';
import { checkConnection, closeClient, openClient, type RedisConnection } from './connection.js';
import { contentKey, DEFAULT_IDEMPOTENCY_FIELD, type FieldValue } from './idempotency.js';

/** Options of {@link RedisStreamSink}. */
export interface RedisStreamSinkOptions<T> {
  /** Where Redis is. Default: ioredis' default, `127.0.0.1:6379`. */
  readonly redis?: RedisConnection;
  /** The stream key written to. */
  readonly stream: string;
  /**
   * Turns a record into the entry's fields. A `Buffer` is stored as its bytes;
   * {@link RedisStreamSource} hands field values to `decode` as UTF-8 text,
   * so for a Tributary reader encode binary data as base64.
   */
  readonly encode: (value: T) => Readonly<Record<string, FieldValue>>;
  /**
   * The record's idempotency key, written to `idempotencyField` so that
   * consumers can drop duplicates (at-least-once writes the records between
   * the last checkpoint and a crash again). Default: {@link contentKey} of the
   * encoded fields. Key by identity instead (e.g. the source entry id) when
   * equal records are distinct events. `false` writes no key.
   */
  readonly idempotencyKey?: ((value: T) => string) | false;
  /** The field holding the idempotency key. Default `'idempotency-key'`. */
  readonly idempotencyField?: string;
  /** Cap the stream near this length (`XADD ... MAXLEN ~ n`): old entries are trimmed in whole macro nodes. Default: no cap. */
  readonly maxLen?: number;
  /** XADDs per pipeline (one round trip). A partly filled pipeline goes out when the current chunk of records is done. Default 256. */
  readonly batchSize?: number;
  /** Pipelines awaiting their replies before `write` waits (backpressure). Default 4. */
  readonly maxInFlightBatches?: number;
}

const SINK_OPTIONS = ['redis', 'stream', 'encode', 'idempotencyKey', 'idempotencyField', 'maxLen', 'batchSize', 'maxInFlightBatches'];

interface ResolvedSinkOptions<T> {
  readonly redis: RedisConnection | undefined;
  readonly stream: string;
  readonly encode: (value: T) => Readonly<Record<string, FieldValue>>;
  readonly idempotencyKey: ((value: T, fields: Readonly<Record<string, FieldValue>>) => string) | undefined;
  readonly idempotencyField: string;
  readonly maxLen: number | undefined;
  readonly batchSize: number;
  readonly maxInFlightBatches: number;
}

function resolve<T>(options: RedisStreamSinkOptions<T>): ResolvedSinkOptions<T> {
  const check = new OptionChecker('RedisStreamSink');
  check.known(check.object(options), SINK_OPTIONS);
  checkConnection(check, options.redis);
  check.nonEmptyString('stream', options.stream);
  check.func('encode', options.encode);
  const key = options.idempotencyKey;
  if (key !== undefined && key !== false && typeof key !== 'function') {
    check.fail(`option 'idempotencyKey' must be a function record => string, or false, got ${describeValue(key)}`);
  }
  // Only undefined means absent: null is a wrong value, as for every other option.
  const field = check.nonEmptyString('idempotencyField', options.idempotencyField === undefined ? DEFAULT_IDEMPOTENCY_FIELD : options.idempotencyField);
  if (key === false && options.idempotencyField !== undefined) check.fail(`option 'idempotencyField' names where the key goes, but 'idempotencyKey' is false: leave one out`);
  return {
    redis: options.redis,
    stream: options.stream,
    encode: options.encode,
    idempotencyKey: key === false ? undefined : key === undefined ? (_value, fields) => contentKey(fields) : (value) => key(value),
    idempotencyField: field,
    maxLen: options.maxLen === undefined ? undefined : check.integer('maxLen', options.maxLen),
    batchSize: check.optionalInteger('batchSize', options.batchSize, 256),
    maxInFlightBatches: check.optionalInteger('maxInFlightBatches', options.maxInFlightBatches, 4),
  };
}

/**
 * Appends records to a Redis stream with `XADD`, pipelined: many XADDs per
 * round trip, several round trips in flight.
 *
 * Details:
 * - At least once: at a checkpoint barrier `snapshotState` sends what is
 *   buffered and resolves only when every XADD before the barrier got its
 *   reply, so the checkpoint completes only once they are in Redis. A crash
 *   writes the records since the last checkpoint again; each entry carries an
 *   idempotency key (field `idempotency-key`) for consumers to drop repeats.
 * - Entries get server-assigned ids (`*`); order is kept per writer.
 * - A failed XADD fails the job (naming the stream) at the next write or
 *   checkpoint.
 * - Durability is Redis': with `appendonly no` a Redis restart can lose
 *   acknowledged writes. Use AOF (`appendfsync everysec` or `always`) or
 *   replicas with `WAIT` when that matters.
 *
 * @example
 * ```ts
 * scored.sinkTo(
 *   new RedisStreamSink<Scored>({
 *     redis: 'redis://127.0.0.1:6379',
 *     stream: 'scores',
 *     encode: (s) => ({ id: s.id, score: s.score }),
 *     idempotencyKey: (s) => s.sourceId,
 *     maxLen: 1_000_000,
 *   }),
 * );
 * ```
 */
export class RedisStreamSink<T> implements Sink<T> {
  private readonly options: ResolvedSinkOptions<T>;

  constructor(options: RedisStreamSinkOptions<T>) {
    this.options = resolve(options);
  }

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    return new RedisStreamWriter(this.options, openClient(this.options.redis, `tributary:sink:${this.options.stream}:${ctx.subtaskIndex}`, {}, ctx.log));
  }
}

class RedisStreamWriter<T> implements SinkWriter<T> {
  private buffer: (string | Buffer | number)[][] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private sendScheduled = false;
  private readonly prefix: readonly (string | number)[];

  constructor(
    private readonly options: ResolvedSinkOptions<T>,
    private readonly client: Redis,
  ) {
    this.prefix = options.maxLen === undefined ? [options.stream, '*'] : [options.stream, 'MAXLEN', '~', options.maxLen, '*'];
  }

  write(value: T): void | Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const { encode, idempotencyKey, idempotencyField, batchSize } = this.options;
    const fields = encode(value);
    const args: (string | Buffer | number)[] = [...this.prefix];
    for (const name of Object.keys(fields)) {
      if (idempotencyKey !== undefined && name === idempotencyField) {
        throw new Error(`RedisStreamSink: encode() returned the field '${name}', which holds the idempotency key; rename it or set idempotencyField`);
      }
      const field: unknown = fields[name];
      // Anything else ioredis would flatten (an array) or stringify (an object, undefined) into shifted or wrong fields.
      if (typeof field !== 'string' && typeof field !== 'number' && !Buffer.isBuffer(field)) {
        throw new Error(`RedisStreamSink: encode() returned ${describeValue(field)} for the field '${name}'; a field value must be a string, a number or a Buffer`);
      }
      args.push(name, field);
    }
    if (idempotencyKey !== undefined) {
      const key: unknown = idempotencyKey(value, fields);
      // Anything else ioredis would write as "" or "[object Object]": one key for every record, and a deduping reader keeps one.
      if (typeof key !== 'string' || key === '') {
        throw new Error(`RedisStreamSink: idempotencyKey() returned ${describeValue(key)}; it must return a non-empty string that identifies the record`);
      }
      args.push(idempotencyField, key);
    }
    if (args.length === this.prefix.length) throw new Error('RedisStreamSink: encode() returned no fields (a stream entry needs at least one)');
    this.buffer.push(args);
    if (this.buffer.length >= batchSize) this.send();
    else if (!this.sendScheduled) {
      this.sendScheduled = true;
      // After the current chunk of records: one pipeline per chunk rather than per record.
      void yieldToEventLoop().then(() => {
        this.sendScheduled = false;
        this.send();
      });
    }
    if (this.inFlight.size >= this.options.maxInFlightBatches) return this.waitForSlot();
  }

  snapshotState(): Promise<undefined> {
    this.send();
    return this.drain();
  }

  async flush(): Promise<void> {
    this.send();
    await this.drain();
  }

  /**
   * A job that ended flushed already (end of input waits for every reply); a cancelled or failed one replays from
   * its checkpoint. So nothing here waits for replies: with Redis down they would never come, the close would time
   * out and the client would retry its connection after the job. Closing sends what was written, then disconnects.
   */
  async close(): Promise<void> {
    closeClient(this.client);
    await Promise.allSettled([...this.inFlight]);
  }

  private send(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const pipeline = this.client.pipeline();
    for (const args of batch) pipeline.call('XADD', ...args);
    const done = pipeline.exec().then(
      (results) => {
        const refused = results === null ? new Error('the pipeline was discarded') : results.find(([error]) => error !== null)?.[0];
        if (refused !== undefined && refused !== null) this.fail(refused);
      },
      (error: unknown) => this.fail(error),
    );
    const tracked = done.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private fail(error: unknown): void {
    const message = messageOf(error);
    this.failure ??= new Error(`RedisStreamSink: XADD to stream '${this.options.stream}' failed: ${message}`, { cause: error });
  }

  private async waitForSlot(): Promise<void> {
    while (this.inFlight.size >= this.options.maxInFlightBatches) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves once every XADD sent so far has its reply; rejects if any failed. */
  private async drain(): Promise<undefined> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failure !== undefined) throw this.failure;
    return undefined;
  }
}
