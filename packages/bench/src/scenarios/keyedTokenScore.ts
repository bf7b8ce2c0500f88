import {
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type DataStream,
  type MapFunction,
  type Runtime,
  type RuntimeContext,
  type Source,
  type SourceReader,
  type ValueState,
} from '@tributary/core';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Checksum, Contender } from '../harness/model.js';
import { ChecksumSink } from '../harness/ChecksumSink.js';
import { checksumJob, checksumOfMetrics } from '../harness/MetricChecksumSink.js';
import { handThreads } from './keyedTokenScoreThreads.js';
import { distinctLines, DISTINCT_LINES, emitted, s7Lines, scoreLine, type Scored } from './keyedTokenScoreWorkload.js';

/**
 * The same `n` lines as a parallel source (a split per subtask, as a Flink
 * file or Kafka source reads): subtask k of p reads lines k, k + p, k + 2p, ...
 * in its own thread, so no line crosses threads before it is parsed. At
 * parallelism 1 it reads `s7Lines(n)` in order. Position: the next line.
 */
export function s7Source(n: number): Source<string, number> {
  return { parallel: true, createReader: ({ subtaskIndex, parallelism }) => new LineReader(n, subtaskIndex, parallelism) };
}

class LineReader implements SourceReader<string, number> {
  private readonly pool = distinctLines();
  private next: number;

  constructor(
    private readonly n: number,
    private readonly first: number,
    private readonly stride: number,
  ) {
    this.next = first;
  }

  start(position: number | undefined): void {
    this.next = position ?? this.first;
  }

  read(max: number): string[] | null {
    if (this.next >= this.n) return null;
    const chunk: string[] = [];
    let i = this.next;
    for (; i < this.n && chunk.length < max; i += this.stride) chunk.push(this.pool[i % DISTINCT_LINES] as string);
    this.next = i;
    return chunk;
  }

  position(): number {
    return this.next;
  }
}

const userOf = (s: Scored): string => s.user;

/** Counts the user's records in `ValueState`. */
interface UserCount extends MapFunction<Scored, number> {
  count: ValueState<number> | undefined;
}

function userCount(): UserCount {
  return {
    count: undefined,
    open(ctx: RuntimeContext) {
      this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
    },
    map(s: Scored) {
      const state = this.count as ValueState<number>;
      const next = (state.value() as number) + 1;
      state.update(next);
      return emitted(next, s.score);
    },
  };
}

/** What S7's job is built from: plain data, so a thread that builds it gets the same graph. */
export interface S7Args {
  readonly records: number;
  readonly parallelism: number;
  /** Default: the single-thread runtime; `'slots'` runs one worker thread per subtask index. */
  readonly runtime?: Runtime;
}

/** S7's pipeline, without a sink: read and score every line in each subtask, then count it for its user behind a hash edge. */
export function buildKeyedTokenScoreJob(args: S7Args): DataStream<number> {
  const env = StreamExecutionEnvironment.create({ parallelism: args.parallelism, runtime: args.runtime ?? 'single-thread' });
  return env
    .fromSource(s7Source(args.records), 'lines')
    .map(scoreLine)
    .name('parse and score')
    .keyBy(userOf)
    .map(userCount())
    .name('count per user');
}

/**
 * Records per call of the Tributary rows' per-chunk code (the task loop, the channels, the
 * edge), for the warm-up (`recordsPerCall`): a chunk is the environment's default 256 records,
 * and each slot's thread sees every other chunk of the input.
 */
export const S7_CHUNK = 256;

const handLoop: Contender<number, Checksum> = {
  id: 'hand-loop',
  label: 'hand-written loop',
  note: 'for each line: the same `scoreLine` (JSON.parse, split, FNV-1a per word), then `Map<user, count>`: get, add one, set, emit',
  run: async (n) => {
    const counts = new Map<string, number>();
    const sink = new ChecksumSink();
    for (const line of s7Lines(n)) {
      const { user, score } = scoreLine(line);
      const next = (counts.get(user) ?? 0) + 1;
      counts.set(user, next);
      sink.write(emitted(next, score));
    }
    return Promise.resolve(sink.result());
  },
};

function tributary(parallelism: number): Contender<number, Checksum> {
  return {
    id: parallelism === 1 ? 'tributary' : `tributary-p${parallelism}`,
    label: parallelism === 1 ? 'Tributary, one thread' : `Tributary, parallelism ${parallelism}, one thread`,
    note:
      parallelism === 1
        ? '`fromSource(lines).map(scoreLine).keyBy(s => s.user).map(count in ValueState)`, parallelism 1 (`buildKeyedTokenScoreJob`): one reader of the lines source reads them all'
        : `the same job at parallelism ${parallelism} on the single-thread runtime: two readers, two subtasks per operator, sharing the one event loop`,
    extra: parallelism !== 1,
    recordsPerCall: S7_CHUNK,
    run: async (n) => {
      const sink = new ChecksumSink();
      const stream = buildKeyedTokenScoreJob({ records: n, parallelism });
      stream.addSink(sink.write);
      await stream.env.execute(`S7 keyed token score, parallelism ${parallelism}`);
      return sink.result();
    },
  };
}

/** S7's job as a job module, with a sink whose counts reach the main thread: what the slots contender runs. */
export const keyedTokenScoreJob = checksumJob(import.meta.url, buildKeyedTokenScoreJob);

const slots: Contender<number, Checksum> = {
  id: 'tributary-slots-p2',
  label: 'Tributary, parallelism 2, two slots',
  note:
    'the same job at parallelism 2 in task slots: two worker threads, each reading and scoring every other line, the user counts behind a hash edge between them (`keyedTokenScoreJob`, a job module)',
  recordsPerCall: 2 * S7_CHUNK,
  run: async (n) => checksumOfMetrics(await keyedTokenScoreJob.execute({ records: n, parallelism: 2, runtime: 'slots' }, { jobName: 'S7 keyed token score, slots' })),
};

/** S7 (issue 21): a CPU-heavy keyed pipeline, about 2 µs of work per record. */
export function keyedTokenScoreScenario(): CpuScenario {
  return {
    kind: 'cpu',
    id: 'S7',
    title: 'CPU-heavy keyed pipeline: parse JSON lines, tokenize, count per user over 10,000 keys',
    description:
      'Each record is a JSON line of 30 made-up words and one of 10,000 users; it is parsed, its words are lower-cased, split and ' +
      'hashed (FNV-1a) into a score, and its user\'s record count (keyed state) goes up by one; the count and the score go to a ' +
      'counting sink. Every contender reads the same lines and runs the same `scoreLine`. The Tributary jobs read them from a parallel ' +
      'source (`s7Source`: subtask k of p reads lines k, k + p, ..., as a file or Kafka source reads its own splits), so each slot ' +
      'reads and scores its own lines and only the scored records cross threads, on the hash edge to the user counts.',
    records: { full: 500_000, quick: 20_000 },
    baseline: 'hand-loop',
    subject: 'tributary',
    unit: 'records',
    contenders: [handLoop, tributary(1), tributary(2), slots, handThreads],
    targetFigure: 'wall',
    targets: [{ kind: 'min-speedup', label: 'two slots at least 1.7x the records/s of one thread', subject: 'tributary-slots-p2', baseline: 'tributary', min: 1.7 }],
  };
}
