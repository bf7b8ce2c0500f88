import { OutputTag, type DataStream, type SingleOutputStream } from '@tributary/core';

/**
 * How an entry reached this reader: `new` (first delivery, `XREADGROUP >`),
 * `pending` (re-read from this consumer's own pending list after a restart
 * or reconnect: it was delivered before but never acked) or `claimed` (taken
 * over from another consumer with `XAUTOCLAIM` after it sat idle). Anything
 * but `new` may have been processed before: that is where duplicates come
 * from.
 */
export type Delivery = 'new' | 'pending' | 'claimed';

/** A decoded stream entry. */
export interface RedisStreamEntry<T> {
  readonly kind: 'entry';
  /** The entry's stream id (`<ms>-<seq>`): unique in the stream, a natural idempotency key. */
  readonly id: string;
  readonly value: T;
  readonly delivery: Delivery;
}

/** An entry the decoder rejected (or one deleted from the stream while it was pending). */
export interface RedisDecodeFailure {
  readonly kind: 'decode-failure';
  readonly id: string;
  readonly stream: string;
  /** The raw fields, or null when the entry was trimmed away (MAXLEN, XDEL) before it could be re-read. */
  readonly fields: Readonly<Record<string, string>> | null;
  /** The decoder's error message. */
  readonly error: string;
  readonly delivery: Delivery;
}

/** What {@link RedisStreamSource} emits: entries and decode failures, in stream order per read. */
export type RedisStreamRecord<T> = RedisStreamEntry<T> | RedisDecodeFailure;

/** The side output {@link splitDecodeFailures} sends decode failures to unless given another tag. */
export const DECODE_FAILURES = new OutputTag<RedisDecodeFailure>('redis-decode-failures');

/**
 * Splits a {@link RedisStreamSource}'s records: decoded entries go on, decode
 * failures go to the side output `tag` (a dead-letter stream with their ids).
 *
 * Sources cannot emit side outputs themselves, so the source emits a tagged
 * union and this chained operator splits it, in the source's task (no extra
 * hop). A failure is acked like any other entry when the checkpoint covering
 * it completes: it is not lost, it is handed to whatever consumes the side
 * output. Read the side output, or failures are dropped.
 *
 * @example
 * ```ts
 * const orders = splitDecodeFailures(env.fromSource(new RedisStreamSource({ ... }), 'orders'));
 * orders.getSideOutput(DECODE_FAILURES).sinkTo(deadLetterSink);
 * orders.map((e) => e.value).sinkTo(out);
 * ```
 */
export function splitDecodeFailures<T>(
  records: DataStream<RedisStreamRecord<T>>,
  tag: OutputTag<RedisDecodeFailure> = DECODE_FAILURES,
): SingleOutputStream<RedisStreamEntry<T>> {
  return records
    .process<RedisStreamEntry<T>>({
      processElement(record, ctx, out) {
        if (record.kind === 'entry') out.collect(record);
        else ctx.output(tag, record);
      },
    })
    .name('SplitDecodeFailures');
}
