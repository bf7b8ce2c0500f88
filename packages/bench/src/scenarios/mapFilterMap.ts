import { pipeline } from 'node:stream/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { StreamExecutionEnvironment } from '@tributary/core';
import { filter, from, map } from 'rxjs';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Checksum, Contender } from '../harness/model.js';
import { ChecksumSink } from '../harness/ChecksumSink.js';

// The user code every contender runs: the same three functions, so only the plumbing differs.
const double = (x: number): number => x * 2;
const notMultipleOf3 = (x: number): boolean => x % 3 !== 0;
const increment = (x: number): number => x + 1;

/** The input of S3: 0, 1, ..., n-1. A generator, so every contender pulls from the same kind of source. */
export function* naturals(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const handLoop: Contender<number, Checksum> = {
  id: 'hand-loop',
  label: 'hand-written loop',
  note: '`for (const x of naturals(n))` calling the three functions inline',
  run: async (n) => {
    let count = 0;
    let sum = 0;
    for (const x of naturals(n)) {
      const doubled = double(x);
      if (!notMultipleOf3(doubled)) continue;
      count++;
      sum += increment(doubled);
    }
    return Promise.resolve({ count, sum });
  },
};

/** The name S3's Tributary job runs under (its metrics live under `job.<name>`). */
export const S3_JOB = 'S3 map-filter-map';

/**
 * S3's Tributary job over `naturals(n)` on the given environment: the S3 row
 * runs it on a plain environment, CK on one with checkpointing enabled.
 */
export async function runMapFilterMapJob(env: StreamExecutionEnvironment, n: number): Promise<Checksum> {
  const sink = new ChecksumSink();
  env.fromCollection(naturals(n)).map(double).filter(notMultipleOf3).map(increment).addSink(sink.write);
  await env.execute(S3_JOB);
  return sink.result();
}

const tributary: Contender<number, Checksum> = {
  id: 'tributary',
  label: 'Tributary',
  note: '`env.fromCollection(naturals(n)).map().filter().map().addSink()`, parallelism 1 (one chained task)',
  run: (n) => runMapFilterMapJob(StreamExecutionEnvironment.create({ parallelism: 1 }), n),
};

/** The input as an array, built before the warm-up (outside the measurement) and shared by the array rows. */
class PrebuiltInput {
  private values: number[] = [];
  readonly prepare = (n: number): void => {
    if (this.values.length !== n) this.values = Array.from(naturals(n));
  };
  take(n: number): number[] {
    return this.values.length === n ? this.values : this.values.slice(0, n);
  }
}

/** The hand loop over the array: the floor, with no iterator protocol at all (not a target row). */
function handLoopArray(input: PrebuiltInput): Contender<number, Checksum> {
  return {
    id: 'hand-loop-array',
    label: 'hand-written loop, array source',
    note: 'an indexed `for` over an array built before the measurement',
    extra: true,
    prepare: input.prepare,
    run: async (n) => {
      const values = input.take(n);
      let count = 0;
      let sum = 0;
      for (let i = 0; i < values.length; i++) {
        const doubled = double(values[i] as number);
        if (!notMultipleOf3(doubled)) continue;
        count++;
        sum += increment(doubled);
      }
      return Promise.resolve({ count, sum });
    },
  };
}

/** The Tributary job over the array: shows what pulling from a generator costs (not a target row). */
function tributaryArray(input: PrebuiltInput): Contender<number, Checksum> {
  return {
    id: 'tributary-array',
    label: 'Tributary, array source',
    note: '`env.fromCollection(array)` over an array built before the measurement: the source slices 256-record chunks',
    extra: true,
    prepare: input.prepare,
    run: async (n) => {
      const sink = new ChecksumSink();
      const env = StreamExecutionEnvironment.create({ parallelism: 1 });
      env.fromCollection(input.take(n)).map(double).filter(notMultipleOf3).map(increment).addSink(sink.write);
      await env.execute('S3 map-filter-map (array)');
      return sink.result();
    },
  };
}

const rxjs: Contender<number, Checksum> = {
  id: 'rxjs',
  label: 'RxJS 7.8',
  note: '`from(naturals(n)).pipe(map, filter, map).subscribe()`',
  run: (n) =>
    new Promise<Checksum>((resolve, reject) => {
      const sink = new ChecksumSink();
      from(naturals(n))
        .pipe(map(double), filter(notMultipleOf3), map(increment))
        .subscribe({ next: sink.write, error: reject, complete: () => resolve(sink.result()) });
    }),
};

const nodeStreams: Contender<number, Checksum> = {
  id: 'node-streams',
  label: 'Node streams',
  note: '`pipeline(Readable.from(naturals(n)), Transform, Transform, Transform, Writable)`, object mode, default highWaterMark (16): backpressure on',
  run: async (n) => {
    const sink = new ChecksumSink();
    const mapper = (fn: (x: number) => number): Transform =>
      new Transform({
        objectMode: true,
        transform(chunk: number, _encoding, callback) {
          callback(null, fn(chunk));
        },
      });
    await pipeline(
      Readable.from(naturals(n)),
      mapper(double),
      new Transform({
        objectMode: true,
        transform(chunk: number, _encoding, callback) {
          if (notMultipleOf3(chunk)) callback(null, chunk);
          else callback();
        },
      }),
      mapper(increment),
      new Writable({
        objectMode: true,
        write(chunk: number, _encoding, callback) {
          sink.write(chunk);
          callback();
        },
      }),
    );
    return sink.result();
  },
};

/** S3 (issue 2): map -> filter -> map into a counting sink. */
export function mapFilterMapScenario(): CpuScenario {
  const input = new PrebuiltInput();
  return {
    kind: 'cpu',
    id: 'S3',
    title: 'map -> filter -> map into a counting sink',
    description:
      'Each record is doubled, kept when not a multiple of 3, incremented, and counted and summed by the sink. ' +
      'Every contender pulls from the same generator of 0..n-1.',
    records: { full: 5_000_000, quick: 200_000 },
    baseline: 'hand-loop',
    subject: 'tributary',
    contenders: [handLoop, tributary, rxjs, nodeStreams, handLoopArray(input), tributaryArray(input)],
    targets: [
      { kind: 'max-ratio', label: 'Tributary at most 2x the hand-written loop', subject: 'tributary', baseline: 'hand-loop', max: 2 },
      { kind: 'min-speedup', label: 'Tributary at least 3x faster than Node streams', subject: 'tributary', baseline: 'node-streams', min: 3 },
    ],
  };
}
