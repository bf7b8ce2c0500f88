import { FakeBatchService, ManualClock, OneInputOperatorHarness, type LatencyModel } from '@tributary/testing';
import { asyncBatchOperatorFactory, type WaitBatchOptions } from '../../src/index.js';

/**
 * One phase of a run: the service's latency while `records` records go through, as a FakeBatchService model or
 * as the ms a call of these records takes (`call` counts the run's calls from 0; such calls ignore their signal).
 */
export interface Phase {
  readonly latency: LatencyModel | ((records: readonly number[], call: number) => number);
  readonly records: number;
}

export interface Run {
  /** Size of every call, in call order, with the phase it was made in. */
  readonly calls: { readonly size: number; readonly phase: number }[];
  /**
   * Per phase: records per ms between its first and last emit, the p95 of arrival-to-emit latency,
   * and that p95 over the records that arrived once the phase's first call had returned (from then on
   * the operator could know the service had changed; the records it already held could not be helped).
   */
  readonly phases: { readonly throughput: number; readonly p95: number; readonly p95Known: number; readonly emitted: number }[];
  readonly harness: OneInputOperatorHarness<number, number>;
}

/** The p-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/**
 * Feeds records as fast as the operator takes them (backpressure decides),
 * against a service whose latency changes from phase to phase, and measures
 * each phase's throughput and latency. Each phase's first fifth is left out
 * of its figures: it measures the steady state, not the learning.
 */
export async function saturatedRun(options: WaitBatchOptions<number, number>, phases: readonly Phase[], clock = new ManualClock(0)): Promise<Run> {
  let phase = 0;
  const services = phases.map(({ latency }) =>
    typeof latency === 'function'
      ? {
          call: (xs: readonly number[]) =>
            new Promise<number[]>((resolve) => clock.schedule(clock.now() + latency(xs, calls.length - 1), () => resolve([...xs]))),
        }
      : new FakeBatchService<number, number>({ clock, handler: (xs) => [...xs], latency, keepCallLog: false }),
  );
  const calls: Run['calls'] = [];
  const firstReturn = phases.map(() => Number.POSITIVE_INFINITY);
  const harness = new OneInputOperatorHarness<number, number>(
    asyncBatchOperatorFactory<number, number>(
      (xs, { signal }) => {
        const at = phase;
        calls.push({ size: xs.length, phase: at });
        return services[at]!.call(xs, { signal }).then((ys) => {
          firstReturn[at] = Math.min(firstReturn[at] as number, clock.now());
          return ys;
        });
      },
      options,
    ),
    { clock, name: 'embed', maxSteps: 1_000_000 },
  );
  await harness.open();
  const arrival: number[] = [];
  const phaseOf: number[] = [];
  let id = 0;
  for (let p = 0; p < phases.length; p++) {
    phase = p;
    for (let i = 0; i < (phases[p] as Phase).records; i++, id++) {
      await harness.feed([id]);
      arrival[id] = clock.now();
      phaseOf[id] = p;
    }
  }
  await harness.endInput();
  const out = harness.getTimedOutput();
  return {
    calls,
    harness,
    phases: phases.map((p, k) => {
      const mine = out.filter((r) => phaseOf[r.value] === k);
      const known = mine.filter((r) => (arrival[r.value] as number) >= (firstReturn[k] as number));
      const steady = mine.slice(Math.floor(mine.length / 5));
      const first = steady[0]?.time ?? 0;
      const last = steady.at(-1)?.time ?? 0;
      return {
        throughput: last > first ? (steady.length - 1) / (last - first) : 0,
        p95: quantile(
          steady.map((r) => r.time - (arrival[r.value] as number)),
          0.95,
        ),
        p95Known: quantile(
          known.map((r) => r.time - (arrival[r.value] as number)),
          0.95,
        ),
        emitted: mine.length,
      };
    }),
  };
}

/** The sizes of the last `n` calls of `phase`. */
export function lastSizes(run: Run, phase: number, n: number): number[] {
  return run.calls
    .filter((c) => c.phase === phase)
    .slice(-n)
    .map((c) => c.size);
}
