import { StreamExecutionEnvironment } from '@tributary/core';
import { from, groupBy, mergeMap, scan } from 'rxjs';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Checksum, Contender } from '../harness/model.js';
import { ChecksumSink } from '../harness/ChecksumSink.js';
import { keyedInput, keyOf, runningSumFunction } from './keyedSumWorkload.js';

const add = (a: number, b: number): number => a + b;

const handLoop: Contender<number, Checksum> = {
  id: 'hand-loop',
  label: 'hand-written Map loop',
  note: '`Map<key, sum>`: get, add, set, emit the new sum',
  run: async (n) => {
    const sums = new Map<number, number>();
    let count = 0;
    let sum = 0;
    for (const v of keyedInput(n)) {
      const k = keyOf(v);
      const next = (sums.get(k) ?? 0) + v;
      sums.set(k, next);
      count++;
      sum += next;
    }
    return Promise.resolve({ count, sum });
  },
};

/** The name S4's Tributary job runs under (its metrics live under `job.<name>`). */
export const S4_JOB = 'S4 keyed running sum';

/**
 * S4's Tributary job (ValueState) over `keyedInput(n)` on the given
 * environment, at the environment's parallelism: the S4 rows run it on a
 * plain environment, CK on one with checkpointing enabled.
 */
export async function runKeyedRunningSumJob(env: StreamExecutionEnvironment, n: number): Promise<Checksum> {
  const sink = new ChecksumSink();
  env.fromCollection(keyedInput(n)).keyBy(keyOf).map(runningSumFunction()).addSink(sink.write);
  await env.execute(S4_JOB);
  return sink.result();
}

function tributaryValueState(parallelism: number): Contender<number, Checksum> {
  return {
    id: parallelism === 1 ? 'tributary' : `tributary-p${parallelism}`,
    label: parallelism === 1 ? 'Tributary, ValueState' : `Tributary, ValueState, parallelism ${parallelism}`,
    note:
      parallelism === 1
        ? '`keyBy(v => v % 1000).map(rich function with ValueState)`, parallelism 1: keyBy is chained, no channel'
        : `the same job with parallelism ${parallelism}: records cross a channel from the source to two keyed subtasks`,
    extra: parallelism !== 1,
    run: (n) => runKeyedRunningSumJob(StreamExecutionEnvironment.create({ parallelism, runtime: 'single-thread' }), n),
  };
}

const tributaryReduce: Contender<number, Checksum> = {
  id: 'tributary-reduce',
  label: 'Tributary, reduce',
  note: '`keyBy(v => v % 1000).reduce((a, b) => a + b)`, parallelism 1',
  extra: true,
  run: async (n) => {
    const sink = new ChecksumSink();
    const env = StreamExecutionEnvironment.create({ parallelism: 1 });
    env.fromCollection(keyedInput(n)).keyBy(keyOf).reduce(add).addSink(sink.write);
    await env.execute('S4 keyed reduce');
    return sink.result();
  },
};

const rxjs: Contender<number, Checksum> = {
  id: 'rxjs',
  label: 'RxJS 7.8, groupBy + scan',
  note: '`from(input).pipe(groupBy(v => v % 1000), mergeMap(g => g.pipe(scan((a, b) => a + b, 0))))`',
  run: (n) =>
    new Promise<Checksum>((resolve, reject) => {
      const sink = new ChecksumSink();
      from(keyedInput(n))
        .pipe(
          groupBy(keyOf),
          mergeMap((group) => group.pipe(scan(add, 0))),
        )
        .subscribe({ next: sink.write, error: reject, complete: () => resolve(sink.result()) });
    }),
};

/** S4 (issue 2): a running sum per key over 1,000 keys, the sink counting and summing the emitted sums. */
export function keyedRunningSumScenario(): CpuScenario {
  return {
    kind: 'cpu',
    id: 'S4',
    title: 'keyed running sum over 1,000 keys',
    description:
      'Records are numbers i mod 10007 keyed by value mod 1000; each record adds its value to its key\'s sum and ' +
      'the new sum is emitted to a counting sink. Every contender pulls from the same generator.',
    records: { full: 5_000_000, quick: 200_000 },
    baseline: 'hand-loop',
    subject: 'tributary',
    contenders: [handLoop, tributaryValueState(1), rxjs, tributaryReduce, tributaryValueState(2)],
    targets: [{ kind: 'min-speedup', label: 'Tributary at least 2.5x faster than RxJS', subject: 'tributary', baseline: 'rxjs', min: 2.5 }],
  };
}
