import type { Slots } from '../ordering/ResultQueue.js';

/** Records that travel together through calls, retries and splits. */
export class Batch<TIn, TOut> {
  /** Calls made for these records so far. */
  attempts = 0;
  /** When all attempts must have ended (Infinity: no deadline); set at the first call. */
  deadlineAt = Number.POSITIVE_INFINITY;
  cancelRetry: (() => void) | undefined = undefined;
  /** The pending retry waits for a service's retry-after hint (kept at end of input). */
  throttledWait = false;

  constructor(
    readonly inputs: TIn[],
    /** The records' result slots in the ordered modes. */
    readonly slots: Slots<TIn, TOut>,
    readonly weight: number,
    /** Arrival of the first record, for batches formed from the input; NaN for retries and split halves. */
    readonly firstArrival: number,
  ) {}

  /** The records at `indices` as a new batch (a retry of some items, a split half), keeping their slots. */
  subBatch(indices: readonly number[], weigher: ((input: TIn) => number) | undefined): Batch<TIn, TOut> {
    const inputs = indices.map((i) => this.inputs[i] as TIn);
    const slots = this.slots;
    return new Batch(inputs, slots === undefined ? undefined : indices.map((i) => slots[i]!), weightOf(inputs, weigher), Number.NaN);
  }
}

export function recordsIn(batches: Iterable<Batch<unknown, unknown>>): number {
  let n = 0;
  for (const batch of batches) n += batch.inputs.length;
  return n;
}

/** The total weight of `inputs` by `weigher` (0 without one). */
export function weightOf<TIn>(inputs: readonly TIn[], weigher: ((input: TIn) => number) | undefined): number {
  if (weigher === undefined) return 0;
  let sum = 0;
  for (const input of inputs) sum += weigher(input);
  return sum;
}
