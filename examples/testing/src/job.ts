import { defineJob, StreamExecutionEnvironment, type DataStream, type SingleOutputStream } from '@tributary/core';
import { DropRepeats, type Event } from './dedupe.js';
import { geocode, unresolved, type Coordinates, type Geocoded, type GeocodingClient } from './geocode.js';

/** What the job emits for each request it keeps: the address's coordinates, or why it could not be placed. */
export type Outcome = { readonly address: string; readonly placed: Coordinates } | { readonly address: string; readonly unresolved: string };

/**
 * The job's graph: requests, keyed by id, lose their repeats for a minute
 * ({@link DropRepeats}); the rest are geocoded in batches ({@link geocode}),
 * the unresolved ones on the side output {@link unresolved}. Tests build it on
 * a single-thread environment with a `ManualClock` and a simulated service.
 */
export function geocodeRequests(requests: DataStream<Event>, client: GeocodingClient): SingleOutputStream<Geocoded> {
  const addresses = requests
    .keyBy((r) => r.id)
    .process(new DropRepeats(60_000))
    .name('drop repeats')
    .map((r) => r.payload)
    .name('payload');
  return geocode(addresses, client);
}

/** A geocoder that knows a table of places and nothing else: stands in for a real service here. */
export function tableGeocoder(places: Readonly<Record<string, Coordinates>>): GeocodingClient {
  return { lookup: (addresses) => Promise.resolve(addresses.map((a) => places[a] ?? new Error(`unknown address: ${a}`))) };
}

/** What the job module is built from: plain data, so that every task slot builds the same graph. */
export interface GeocodeJobArgs {
  readonly requests: readonly Event[];
  /** The places the stand-in geocoder knows. */
  readonly places: Readonly<Record<string, Coordinates>>;
  /** Subtasks of every operator but the source; above 1, one task slot (worker thread) each. Default 2. */
  readonly parallelism?: number;
}

/**
 * The job as a job module: every task slot imports this module and builds
 * {@link geocodeRequests} over the requests with the stand-in geocoder. It
 * collects one {@link Outcome} per request kept.
 */
export const geocodeJob = defineJob({
  module: import.meta.url,
  build: (args: GeocodeJobArgs) => {
    const env = StreamExecutionEnvironment.create({ parallelism: args.parallelism ?? 2 });
    const placed = geocodeRequests(env.fromCollection(args.requests).name('requests'), tableGeocoder(args.places));
    const failed = placed.getSideOutput(unresolved).map((d): Outcome => ({ address: d.input, unresolved: String(d.error) }));
    return placed.map(({ address, lat, lon }): Outcome => ({ address, placed: { lat, lon } })).union(failed);
  },
});
