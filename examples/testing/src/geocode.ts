import { AsyncDataStream, NonRetryableError, RetryStrategies, type BatchContext, type DeadLetter, type PerItemBatchOptions } from '@tributary/async';
import { OutputTag, type DataStream, type SingleOutputStream } from '@tributary/core';

export interface Coordinates {
  readonly lat: number;
  readonly lon: number;
}

/**
 * What the job needs of a geocoding service: one request for many
 * addresses, one answer per address (its coordinates, or an `Error` when
 * the service could not place it).
 */
export interface GeocodingClient {
  lookup(addresses: readonly string[], options: { signal: AbortSignal }): Promise<(Coordinates | Error)[]>;
}

export interface Geocoded extends Coordinates {
  readonly address: string;
}

/**
 * The batch function: one request per batch, one outcome per address. An
 * address the service could not place is an `Error` for that address only,
 * so the operator retries just that one (`resultMode: 'per-item'`).
 */
export function geocodeBatch(client: GeocodingClient) {
  return async (addresses: readonly string[], ctx: BatchContext): Promise<(Geocoded | Error)[]> => {
    const answers = await client.lookup(addresses, { signal: ctx.signal });
    if (answers.length !== addresses.length) {
      // A broken answer does not get better with retries.
      throw new NonRetryableError(`geocoder answered ${answers.length} results for ${addresses.length} addresses`);
    }
    return answers.map((answer, i) => (answer instanceof Error ? answer : { address: addresses[i]!, ...answer }));
  };
}

/** Addresses still unplaced after every attempt, with their last error. */
export const unresolved = new OutputTag<DeadLetter<string>>('unresolved addresses');

/** The operator's options: the job and the operator harness test use the same. */
export const geocodeOptions: PerItemBatchOptions<string, Geocoded> = {
  resultMode: 'per-item',
  maxBatchSize: 50, // the service takes up to 50 addresses per request
  maxBatchDelay: 20, // a partial batch waits at most 20 ms
  maxInFlightBatches: 3,
  timeout: 1_000,
  retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 100 }),
  onFailure: { deadLetter: unresolved },
};

/** The job's geocoding stage: addresses in, coordinates out; the unresolved go to the side output {@link unresolved}. */
export function geocode(addresses: DataStream<string>, client: GeocodingClient): SingleOutputStream<Geocoded> {
  return AsyncDataStream.unorderedWaitBatch(addresses, geocodeBatch(client), geocodeOptions).name('geocode');
}
