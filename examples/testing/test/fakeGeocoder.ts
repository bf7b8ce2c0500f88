import { FakeBatchService, type ManualClock } from '@tributary/testing';
import type { Coordinates, GeocodingClient } from '../src/geocode.js';

/** Addresses the fake service knows; any other address fails on its own. */
export const KNOWN: Readonly<Record<string, Coordinates>> = {
  '1 Quai du Mont-Blanc, Geneva': { lat: 46.21, lon: 6.15 },
  '10 Downing Street, London': { lat: 51.5, lon: -0.13 },
  '221B Baker Street, London': { lat: 51.52, lon: -0.16 },
  'Unter den Linden 1, Berlin': { lat: 52.52, lon: 13.4 },
};

/**
 * A geocoding service simulated by FakeBatchService: 10 ms + 1 ms per
 * address on the test's clock, at most 2 requests served at once, unknown
 * addresses failing one by one. `options` scripts more failures.
 */
export function fakeGeocoder(clock: ManualClock, options: { throttleCalls?: number[]; retryAfterMs?: number } = {}) {
  const service = new FakeBatchService<string, Coordinates>({
    clock,
    handler: (addresses) => addresses.map((a) => KNOWN[a] ?? { lat: Number.NaN, lon: Number.NaN }),
    failItems: (address) => KNOWN[address] === undefined,
    latency: { baseMs: 10, perItemMs: 1 },
    concurrency: 2,
    ...options,
  });
  const client: GeocodingClient = { lookup: (addresses, { signal }) => service.callPerItem(addresses, { signal }) };
  return { service, client };
}
