/**
 * Key groups: how a key finds its subtask.
 *
 * As in Flink, a key is hashed into one of `MAX_PARALLELISM` key groups and
 * each subtask owns a contiguous range of groups, so a key always lands on
 * one subtask and state can later be redistributed by whole groups.
 */

/** The number of key groups (Flink's default max parallelism for small jobs). */
export const MAX_PARALLELISM = 128;

/** Keys Tributary can route and scope state by: compare by value, hash stably. */
export type Key = string | number | bigint | boolean;

/** A 32-bit hash of a key that is the same in every process (no object identity). */
export function hashKey(key: Key): number {
  switch (typeof key) {
    case 'number':
      return Number.isInteger(key) && Math.abs(key) <= 0x7fffffff ? key | 0 : hashString(String(key));
    case 'string':
      return hashString(key);
    case 'boolean':
      return key ? 1231 : 1237;
    default:
      return hashString(key.toString());
  }
}

/** FNV-1a over UTF-16 code units: cheap, stable, good enough before murmur mixing. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Murmur3's finaliser: spreads similar hashes (1, 2, 3 ...) across groups. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key group (0 .. MAX_PARALLELISM-1) a key belongs to. */
export function keyGroupOf(key: Key): number {
  return mix(hashKey(key)) % MAX_PARALLELISM;
}

/** The subtask that owns a key group, Flink's `keyGroup * parallelism / maxParallelism`. */
export function subtaskForKeyGroup(keyGroup: number, parallelism: number): number {
  return Math.floor((keyGroup * parallelism) / MAX_PARALLELISM);
}

/** The subtask a key is routed to. */
export function subtaskForKey(key: Key, parallelism: number): number {
  return subtaskForKeyGroup(keyGroupOf(key), parallelism);
}
