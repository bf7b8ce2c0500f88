import { Redis } from 'ioredis';
import { DEFAULT_REDIS_OPTIONS } from 'ioredis/built/redis/RedisOptions.js';
import { describe, expect, it } from 'vitest';
import { IOREDIS_OPTIONS } from '../src/internal/ioredisOptions.js';

/**
 * The option names a `redis` connection may hold are kept in the package
 * (ioredis exports no list). The compiler holds the list to ioredis'
 * `RedisOptions` type; this holds it to what the installed ioredis uses at
 * run time, so an upgrade that adds an option with a default fails here
 * instead of having the option refused as unknown.
 */
describe('IOREDIS_OPTIONS', () => {
  it("holds every option ioredis' client has a default for", () => {
    // What `new Redis()` fills in: the defaults compared below are the ones it uses.
    expect((Redis as unknown as { defaultOptions: unknown }).defaultOptions).toBe(DEFAULT_REDIS_OPTIONS);
    const defaults = Object.keys(DEFAULT_REDIS_OPTIONS);
    expect(defaults.length).toBeGreaterThan(30);
    expect(defaults.filter((name) => !IOREDIS_OPTIONS.includes(name))).toEqual([]);
  });

  it('names each option once', () => {
    expect(new Set(IOREDIS_OPTIONS).size).toBe(IOREDIS_OPTIONS.length);
  });
});
