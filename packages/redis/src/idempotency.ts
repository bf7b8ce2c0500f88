import { createHash } from 'node:crypto';

/** The field {@link RedisStreamSink} writes the idempotency key to unless told otherwise. */
export const DEFAULT_IDEMPOTENCY_FIELD = 'idempotency-key';

/** A value of a stream entry field as the sink accepts it. */
export type FieldValue = string | number | Buffer;

/**
 * A stable key of an entry's content: SHA-256 over its fields sorted by
 * name, base64url, 22 characters (128 bits). The same fields give the same
 * key in every process and run, whatever the order they were listed in.
 *
 * Gotcha: two records with equal content get the same key, so a consumer
 * that drops duplicates by key keeps only one of them. When equal records
 * are distinct events, key them by identity (e.g. the source entry id).
 *
 * @example
 * ```ts
 * contentKey({ user: 'u1', amount: 3 }) === contentKey({ amount: '3', user: 'u1' }); // true
 * ```
 */
export function contentKey(fields: Readonly<Record<string, FieldValue>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(fields).sort()) {
    const value = fields[name] as FieldValue;
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    // Length prefixes keep field boundaries unambiguous ("ab"+"c" vs "a"+"bc").
    hash.update(`${Buffer.byteLength(name)}:${name}${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('base64url').slice(0, 22);
}
