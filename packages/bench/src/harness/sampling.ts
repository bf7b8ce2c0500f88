/** How a sample is taken: how long a contender runs before it is measured, and how many runs are measured. */

/**
 * Full-size runs of a contender before the measured runs of each sample, with
 * no forced GC in between: after two, V8 has compiled the per-batch code and
 * no GC makes it discard that code (the measurements: docs/internals.md, "Benchmark method").
 */
export const WARMUP_RUNS = 2;

/**
 * Calls of a contender's per-batch code before its measured runs: what S2's
 * two warm-up runs give it (2 * 1,000,000 / 256, rounded down to hundreds; a
 * test keeps it below S2's). A contender that makes few calls per run (S5)
 * needs more runs to get there (docs/internals.md, "Benchmark method").
 */
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
