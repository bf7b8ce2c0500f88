import { describe, expect, it } from 'vitest';
import { CollectionSource, OutputTag, StreamExecutionEnvironment, type Collector, type FlatMapFunction, type OneInputStreamOperator } from '../src/index.js';
import { MAX_PIECE } from '../src/operators/FlatMapOperator.js';

const numbers = Array.from({ length: 2000 }, (_, i) => i);
const reference = numbers.map((n) => n * 3).filter((n) => n % 2 === 0).map((n) => `v${n}`);

describe('pipelines', () => {
  it('gives the same output chained in one task and split over tasks', async () => {
    const chained = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const chainedOut = await chained
      .fromCollection(numbers)
      .map((n) => n * 3)
      .filter((n) => n % 2 === 0)
      .map((n) => `v${n}`)
      .executeAndCollect();

    // rebalance() and a parallelism change put a channel between every pair of operators.
    const split = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 7, channelCapacity: 2 });
    const splitOut = await split
      .fromCollection(numbers)
      .rebalance()
      .map((n) => n * 3)
      .setParallelism(3)
      .rebalance()
      .filter((n) => n % 2 === 0)
      .setParallelism(2)
      .map((n) => `v${n}`)
      .executeAndCollect();

    expect(chainedOut).toEqual(reference);
    expect([...splitOut].sort()).toEqual([...reference].sort());
  });

  it('asks sources for chunkSize records per read', async () => {
    const asked: number[] = [];
    let next = 0;
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 10 });
    const out = await env
      .fromSource(
        {
          parallel: false,
          createReader: () => ({
            read: (max: number) => {
              asked.push(max);
              if (next >= 25) return null;
              const chunk = numbers.slice(next, Math.min(next + max, 25));
              next += chunk.length;
              return chunk;
            },
            position: () => next,
          }),
        },
        'counted',
      )
      .executeAndCollect();
    expect(out).toEqual(numbers.slice(0, 25));
    expect(asked).toEqual([10, 10, 10, 10]);
  });

  it('keeps per-subtask order through a forward edge', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 3 });
    const out = await env.fromCollection(numbers).map((n) => n + 1).rebalance().map((n) => n - 1).executeAndCollect();
    expect(out).toEqual(numbers);
  });

  it('unions streams of the same type, including a stream with itself', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const a = env.fromElements(1, 2, 3);
    const b = env.fromCollection([10, 20]).map((n) => n + 1);
    const out = await a.union(b, a).map((n) => n * 2).executeAndCollect();
    expect(out.sort((x, y) => x - y)).toEqual([2, 2, 4, 4, 6, 6, 22, 42]);
  });

  it('routes side outputs to their own streams, also across a channel', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const odd = new OutputTag<string>('odd');
    const big = new OutputTag<number>('big');
    const main = env.fromCollection(numbers.slice(0, 20)).process<number>({
      processElement(n, ctx, out) {
        if (n % 2 === 1) ctx.output(odd, `odd:${n}`);
        else out.collect(n);
        if (n >= 18) ctx.output(big, n);
      },
    });
    const odds: string[] = [];
    main.getSideOutput(odd).addSink((v) => void odds.push(v));
    const bigs: number[] = [];
    main.getSideOutput(big).rebalance().map((n) => n * 10).setParallelism(2).addSink((v) => void bigs.push(v));
    const evens = await main.executeAndCollect();
    expect(evens).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(odds).toEqual(['odd:1', 'odd:3', 'odd:5', 'odd:7', 'odd:9', 'odd:11', 'odd:13', 'odd:15', 'odd:17', 'odd:19']);
    expect(bigs.sort()).toEqual([180, 190]);
  });

  it('supports flatMap as an iterable-returning function and as a collector object', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const splitter: FlatMapFunction<string, string> = {
      flatMap(line: string, out: Collector<string>) {
        for (const w of line.split(' ')) if (w !== '') out.collect(w.toUpperCase());
      },
    };
    const words = await env
      .fromElements('a b', '', 'c')
      .flatMap((line) => line.split(' '))
      .filter((w) => w !== '')
      .union(env.fromElements('d e').flatMap(splitter))
      .executeAndCollect();
    expect(words.sort()).toEqual(['D', 'E', 'a', 'b', 'c']);
  });

  it('reads async iterables, fast and slow', async () => {
    async function* gen() {
      for (let i = 0; i < 1000; i++) {
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
        yield i;
      }
    }
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    expect(await env.fromAsyncIterable(gen()).map((n) => n * 2).executeAndCollect()).toEqual(numbers.slice(0, 1000).map((n) => n * 2));
  });

  it('reports records in and out per operator and a fan-out writes to every consumer', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const src = env.fromCollection(numbers).name('numbers');
    const evens = src.filter((n) => n % 2 === 0).name('evens');
    evens.addSink(() => undefined).name('sink-a');
    evens.map((n) => n).name('copy').addSink(() => undefined).name('sink-b');
    const result = await env.execute('counts');
    const byName = Object.fromEntries(result.operators.map((o) => [o.name, o]));
    expect(result.status).toBe('finished');
    expect(byName.numbers).toMatchObject({ recordsOut: 2000, parallelism: 1 });
    expect(byName.evens).toMatchObject({ recordsIn: 2000, recordsOut: 1000, parallelism: 2 });
    expect(byName['sink-a']).toMatchObject({ recordsIn: 1000 });
    expect(byName['sink-b']).toMatchObject({ recordsIn: 1000 });
    expect(result.metrics['job.counts.operator.evens.0.numRecordsIn']).toBeGreaterThan(0);
    // Each task reports its busy time on its head operator (the source's task, each filter subtask's task).
    expect(result.metrics['job.counts.operator.numbers.0.busyTimeMs']).toBeGreaterThan(0);
    expect(result.metrics['job.counts.operator.evens.1.busyTimeMs']).toBeGreaterThan(0);
    expect(result.metrics['job.counts.operator.copy.0.busyTimeMs']).toBeUndefined(); // chained: part of the filter's task
  });

  it('collects the records with the job result that execute() would return (executeAndCollectWithResult)', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const { records, result } = await env.fromCollection(numbers).name('numbers').filter((n) => n % 2 === 0).name('evens').executeAndCollectWithResult('evens');
    expect(records.sort((a, b) => a - b)).toEqual(numbers.filter((n) => n % 2 === 0));
    expect(result).toMatchObject({ jobName: 'evens', status: 'finished' });
    expect(result.operators.find((o) => o.name === 'Sink: Collect')).toMatchObject({ recordsIn: 1000, parallelism: 2 });
    expect(result.metrics['job.evens.operator.evens.1.numRecordsIn']).toBe(1000);
  });

  it('opens rich functions once per subtask with their own instance and closes them', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 3 });
    const events: string[] = [];
    const tagger = {
      tag: '',
      open(ctx: { subtaskIndex: number }) {
        this.tag = `s${ctx.subtaskIndex}`;
        events.push(`open ${this.tag}`);
      },
      map(_n: number) {
        return this.tag;
      },
      close() {
        events.push(`close ${this.tag}`);
      },
    };
    const out = await env.fromCollection(numbers).rebalance().map(tagger).executeAndCollect();
    expect(new Set(out)).toEqual(new Set(['s0', 's1', 's2']));
    expect(events.filter((e) => e.startsWith('open')).sort()).toEqual(['open s0', 'open s1', 'open s2']);
    expect(events.filter((e) => e.startsWith('close')).sort()).toEqual(['close s0', 'close s1', 'close s2']);
  });
});

describe('chunked execution inside a chain', () => {
  it("passes on a flatMap's outputs in pieces, however many one record yields (V8 aborts past about 112 million in one array)", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const total = 3 * MAX_PIECE + 5;
    const chunks: number[] = [];
    let next = 0;
    let inOrder = true;
    /** Sees the chunks the flatMap hands on, as an operator chained after it. */
    class Chunks implements OneInputStreamOperator<number> {
      processElement(value: number): void {
        this.processChunk([value]);
      }
      processChunk(values: readonly number[]): void {
        chunks.push(values.length);
        for (const v of values) inOrder &&= v === next++;
      }
    }
    env
      .fromElements(1)
      .flatMap(function* () {
        for (let i = 0; i < total; i++) yield i;
      })
      .transform('chunks', () => new Chunks())
      .addSink(() => undefined);
    await env.execute('fan-out');
    expect([next, inOrder]).toEqual([total, true]);
    expect(Math.max(...chunks)).toBe(MAX_PIECE);
  });

  it('keeps a sink strictly sequential: records in order, at most one pending write, when only some writes are async', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 64 });
    const written: number[] = [];
    let pending = 0;
    let maxPending = 0;
    env
      .fromCollection(numbers)
      .map((n) => n * 2)
      .addSink((n) => {
        if (pending !== 0) throw new Error(`write of ${n} while another write is pending`);
        written.push(n);
        if (n % 7 !== 0) return undefined;
        pending++;
        maxPending = Math.max(maxPending, pending);
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            pending--;
            resolve();
          }),
        );
      });
    await env.execute('sequential sink');
    expect(written).toEqual(numbers.map((n) => n * 2));
    expect(maxPending).toBe(1);
  });
});

describe('CollectionSource', () => {
  it('reads an iterable in chunks of the size asked, resumes after a restored position, and reports it', () => {
    function* digits(): Generator<number> {
      for (let i = 0; i < 10; i++) yield i;
    }
    for (const items of [digits(), [...digits()]]) {
      const reader = new CollectionSource(items).createReader();
      void reader.start?.(5);
      expect([reader.read(3), reader.position(), reader.read(3), reader.position(), reader.read(3)]).toEqual([[5, 6, 7], 8, [8, 9], 10, null]);
    }
  });
});
