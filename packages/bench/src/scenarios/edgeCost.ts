import { StreamExecutionEnvironment, type DataStream, type Runtime } from '@tributary/core';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Checksum, Contender } from '../harness/model.js';
import { ChecksumSink } from '../harness/ChecksumSink.js';
import { checksumJob, checksumOfMetrics } from '../harness/MetricChecksumSink.js';
import { keyedInput, keyOf, runningSumFunction } from './keyedSumWorkload.js';

/** What the edge-cost job is built from: plain data, so a thread that builds it gets the same graph. */
export interface KeyedSumArgs {
  readonly records: number;
  readonly parallelism: number;
  /** Default: the single-thread runtime; `'slots'` runs one worker thread per subtask index. */
  readonly runtime?: Runtime;
}

/**
 * S4's keyed running sum, without a sink. At parallelism 1 `keyBy` is chained
 * to the source; above it every record crosses a hash edge to its key's subtask.
 */
export function buildKeyedSumJob(args: KeyedSumArgs): DataStream<number> {
  const env = StreamExecutionEnvironment.create({ parallelism: args.parallelism, runtime: args.runtime ?? 'single-thread' });
  return env
    .fromCollection(keyedInput(args.records))
    .keyBy(keyOf)
    .map(runningSumFunction());
}

function keyedSum(parallelism: number): Contender<number, Checksum> {
  return {
    id: parallelism === 1 ? 'chained' : `hash-edge-p${parallelism}`,
    label: parallelism === 1 ? 'parallelism 1, keyBy chained' : `parallelism ${parallelism}, hash edge, one thread`,
    note:
      parallelism === 1
        ? "S4's job (`keyBy(v => v % 1000).map(rich function with ValueState)`) at parallelism 1: no channel, the baseline"
        : `the same job at parallelism ${parallelism} on the single-thread runtime: every record goes through a channel to one of ${parallelism} keyed subtasks`,
    run: async (n) => {
      const sink = new ChecksumSink();
      const stream = buildKeyedSumJob({ records: n, parallelism });
      stream.addSink(sink.write);
      await stream.env.execute(`S4-edge keyed sum, parallelism ${parallelism}`);
      return sink.result();
    },
  };
}

/** The edge-cost job as a job module, with a sink whose counts reach the main thread: what the slots contender runs. */
export const keyedSumJob = checksumJob(import.meta.url, buildKeyedSumJob);

const slots: Contender<number, Checksum> = {
  id: 'slots-p2',
  label: 'parallelism 2, two slots',
  note: "the same job in task slots: slot 0's source reads every number, and the records whose key lives in slot 1 cross threads (about half)",
  run: async (n) => checksumOfMetrics(await keyedSumJob.execute({ records: n, parallelism: 2, runtime: 'slots' }, { jobName: 'S4-edge keyed sum, slots' })),
};

/** The cost of a keyed edge per record (issue 21): S4's keyed sum chained vs across a hash edge, ns of CPU per record. */
export function edgeCostScenario(): CpuScenario {
  return {
    kind: 'cpu',
    id: 'S4-edge',
    title: 'cost of a hash edge per record (S4 at parallelism 1 and 2)',
    description:
      "S4's workload (numbers i mod 10007, a running sum per key over 1,000 keys in ValueState, a counting sink) with `keyBy` chained " +
      'and with every record crossing a hash edge to one of two keyed subtasks. The difference of the two rows is what the edge costs per record.',
    records: { full: 5_000_000, quick: 200_000 },
    baseline: 'chained',
    subject: 'hash-edge-p2',
    contenders: [keyedSum(1), keyedSum(2), slots],
    targets: [],
  };
}
