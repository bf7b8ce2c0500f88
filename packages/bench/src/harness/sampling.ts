/** How a sample is taken: how long a contender runs before it is measured, and how many runs are measured. */

/**
 * Full-size runs of a contender before the measured runs of each sample, with
 * no forced GC between them and the measurement: what it takes on V8 (Node
 * 20) for the measured runs to be a steady state, for every contender alike.
 *
 * Why full size and two: V8 optimizes a function once it has run enough, and
 * per-batch code runs once per batch. In S2 (batch 256) `--trace-opt` over
 * one 3,000,000-record job shows Tributary's per-batch functions optimized
 * only between 250,000 and 1,500,000 records in; the fifth of the records
 * this used to warm up with left that compiling inside the measurement. With
 * one full-size warm-up run the measured run still recompiled much of it (the
 * first run's end invalidates some optimized code); after two, its
 * compiler-thread time matched the hand-written loop's (S2: 7-23 against
 * 6-21 ns per record, from /proc per-thread CPU).
 *
 * Why no GC after the warm-up: a full GC collects the warm-up job's objects,
 * and V8 then discards optimized code that embedded them (`--trace-deopt`:
 * "weak objects"), so every contender compiled its hot code again while
 * measured. So the measured run also collects what its warm-up runs left,
 * as a long-running job collects what it made earlier.
 */
export const WARMUP_RUNS = 2;

/**
 * Calls of a contender's per-batch code before its measured runs: what S2's
 * two warm-up runs give it (2 * 1,000,000 / 256 = 7,812, rounded down to
 * hundreds; a test keeps it below S2's). Two runs are enough only where a
 * run makes thousands of calls. S5 makes 256 calls of 64 texts per run:
 * after two runs, `--trace-opt` showed the measured run still compiling
 * Tributary's per-batch functions (`dispatchReady`, `validateFeeds`, ...:
 * 15-17 ms of compiler time, against 1-2 ms for the hand-written loop), the
 * same fault the two runs fixed in S2. S1, measured in one process, runs
 * each configuration for as many calls first (see `FlowScenario.warmUp`).
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
 * process is its fork): the sample's figure is their median. One run of a
 * few tenths of a second is too short to average out this shared VM: in
 * S5, consecutive runs of one warm process spread from 16,476 to 24,104 ns
 * per embedding, and the figure of each process's first run alone put
 * Tributary at 1.07x the hand loop where the medians of seven runs per
 * process put it at 0.99x (four processes each). The median, not the
 * lowest run, because a run's own garbage collection is the contender's
 * cost, not noise: the lowest run would reward one that skipped a major GC
 * (the best of the samples, see `bestSample`, is taken across processes).
 * Five rather than seven: the median still drops two outliers of a sample,
 * and S5's 31-run warm-up already makes each sample long. Each run after
 * the first also collects the previous run's garbage, as the warm-up runs do.
 */
export const MEASURED_RUNS = 5;
