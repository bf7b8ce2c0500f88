/** How a sample is taken: how long a contender runs before it is measured, and how many runs are measured. */

/** Full-size warm-up runs before a sample's measured runs, with no forced GC between (why: docs/internals.md, "Benchmark method"). */
export const WARMUP_RUNS = 2;

/** Per-batch calls a contender makes before its measured runs: what S2's warm-up runs give (a test keeps it below S2's). */
export const WARMUP_CALLS = 7_800;

/**
 * Warm-up runs at `records` per run: {@link WARMUP_RUNS}, or more when that
 * many runs make fewer than {@link WARMUP_CALLS} calls of `recordsPerCall`
 * records each. Without `recordsPerCall` (code that is not per batch), and
 * in a quick run (which checks that everything runs, not how fast),
 * {@link WARMUP_RUNS}.
 */
export function warmupRunsFor(records: number, recordsPerCall: number | undefined, quick: boolean): number {
  if (quick || recordsPerCall === undefined) return WARMUP_RUNS;
  return Math.max(WARMUP_RUNS, Math.ceil((WARMUP_CALLS * recordsPerCall) / records));
}

/**
 * Measured runs in one sample (JMH's measurement iterations, as a sample's
 * process is its fork): the sample's figure is their median, since a run's
 * own garbage collection is the contender's cost and the lowest run would
 * hide it. Why five: docs/internals.md, "Benchmark method".
 */
export const MEASURED_RUNS = 5;
