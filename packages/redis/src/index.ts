/**
 * @tributary/redis: Redis Streams source (consumer groups, acks on
 * checkpoint, reclaim of a dead worker's entries) and sink (pipelined XADD
 * with idempotency keys). Run the same job in N processes to split a stream.
 * A result cache in Redis for the batch operators' `dedupe`.
 * @packageDocumentation
 */
export {
  RedisStreamSource,
  type RedisStreamSourceOptions,
  type RedisStreamPosition,
  type AckMode,
  type ReclaimOptions,
} from './RedisStreamSource.js';
export { RedisStreamSink, type RedisStreamSinkOptions } from './RedisStreamSink.js';
export { RedisResultCache, type RedisResultCacheOptions } from './RedisResultCache.js';
export {
  splitDecodeFailures,
  DECODE_FAILURES,
  type RedisStreamRecord,
  type RedisStreamEntry,
  type RedisDecodeFailure,
  type Delivery,
} from './records.js';
export { contentKey, DEFAULT_IDEMPOTENCY_FIELD, type FieldValue } from './idempotency.js';
export type { RedisConnection } from './connection.js';
