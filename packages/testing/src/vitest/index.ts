/**
 * vitest assertions for Tributary tests: batch boundaries from a
 * `FakeBatchService` log and output timelines from a harness. Import from
 * `@tributary/testing/vitest`; the main entry stays free of vitest.
 * @packageDocumentation
 */
import { expect } from 'vitest';
import type { OperatorHarness } from '../harness/OperatorHarness.js';
import { toMarbles, type ToMarblesOptions } from '../harness/marbles.js';
import type { FakeBatchService } from '../service/FakeBatchService.js';

/**
 * Asserts the batches the service received, in call order, input by input.
 * On failure the message shows the whole call log (times and outcomes).
 *
 * @example
 * ```ts
 * expectBatches(service, [[1, 2, 3], [4, 5]]);
 * ```
 */
export function expectBatches<TIn, TOut>(service: FakeBatchService<TIn, TOut>, expected: readonly (readonly TIn[])[]): void {
  checkCallLog(service, 'expectBatches');
  expect(
    service.calls.map((c) => c.inputs),
    `batches received by the service; call log:\n${service.describeCalls()}`,
  ).toEqual(expected);
}

/** Asserts the size of every batch the service received, in call order. */
export function expectBatchSizes<TIn, TOut>(service: FakeBatchService<TIn, TOut>, expected: readonly number[]): void {
  checkCallLog(service, 'expectBatchSizes');
  expect(service.batchSizes(), `batch sizes; call log:\n${service.describeCalls()}`).toEqual(expected);
}

/** Asserts that no call carried an empty batch. */
export function expectNoEmptyBatches<TIn, TOut>(service: FakeBatchService<TIn, TOut>): void {
  checkCallLog(service, 'expectNoEmptyBatches');
  const empty = service.calls.filter((c) => c.inputs.length === 0).map((c) => c.id);
  expect(empty, `calls with an empty batch; call log:\n${service.describeCalls()}`).toEqual([]);
}

/** Without a call log every batch assertion would check an empty list and pass, whatever the service received. */
function checkCallLog(service: { readonly keepCallLog: boolean }, assertion: string): void {
  if (!service.keepCallLog) {
    throw new Error(`${assertion}() needs the service's call log, and this FakeBatchService was created with keepCallLog: false`);
  }
}

/**
 * Asserts when the harness emitted its main output, as a marble diagram
 * (see `toMarbles`): `expectOutputMarbles(h, '-----3--2', { frameMs: 10, symbol: (b) => String(b.length) })`.
 */
export function expectOutputMarbles<TOut>(harness: OperatorHarness<unknown, TOut>, expected: string, options: ToMarblesOptions<TOut>): void {
  expect(toMarbles(harness.getTimedOutput(), options), 'output timeline').toBe(expected);
}
