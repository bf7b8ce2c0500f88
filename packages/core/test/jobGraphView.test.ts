import { describe, expect, it } from 'vitest';
import { OutputTag, StreamExecutionEnvironment, type JobGraphView, type OperatorFactory, type Sink } from '../src/index.js';

/** An operator that passes records on, for `transform`. */
const passThrough: OperatorFactory<number, number> = (ctx) => ({ processElement: (value) => ctx.output.collect(value) });
const discard: Sink<number> = { createWriter: () => ({ write: () => undefined }) };

/**
 * The view in a few lines: each vertex (`name xparallelism`), then each edge
 * between operators (named by uid, else name): `=>` chained, `->` across a
 * channel, with its partitioning and side output.
 */
function summary(view: JobGraphView): string[] {
  const label = new Map(view.operators.map((o) => [o.id, o.uid ?? o.name]));
  return [
    ...view.vertices.map((v) => `${v.name} x${v.parallelism}`),
    ...view.edges.map(
      (e) => `${label.get(e.from)} ${e.chained ? '=>' : '->'} ${label.get(e.to)}: ${e.partitioning}${e.sideOutput === undefined ? '' : ` [${e.sideOutput}]`}`,
    ),
  ];
}

const env = (parallelism = 1) => StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism });

const cases: { name: string; build: () => StreamExecutionEnvironment; expected: string[] }[] = [
  {
    name: 'map, filter, flatMap and process chain to their source',
    build: () => {
      const e = env();
      e.fromElements(1).map((x) => x).filter(() => true).flatMap((x) => [x]).process({ processElement: (v, _ctx, out) => out.collect(v) }).print();
      return e;
    },
    expected: [
      'Source: Elements -> Map -> Filter -> FlatMap -> Process -> Sink: Print x1',
      'Source: Elements => Map: forward',
      'Map => Filter: forward',
      'Filter => FlatMap: forward',
      'FlatMap => Process: forward',
      'Process => Sink: Print: forward',
    ],
  },
  {
    name: 'a non-parallel source feeds parallel operators round-robin',
    build: () => {
      const e = env(2);
      e.fromElements(1).map((x) => x).print();
      return e;
    },
    expected: ['Source: Elements x1', 'Map -> Sink: Print x2', 'Source: Elements -> Map: rebalance', 'Map => Sink: Print: forward'],
  },
  {
    name: 'keyBy between parallel operators hashes; the reduce chains to its sink',
    build: () => {
      const e = env(2);
      e.fromElements(1).map((x) => x).keyBy((x) => x).reduce((a, b) => a + b).print();
      return e;
    },
    expected: [
      'Source: Elements x1',
      'Map x2',
      'Reduce -> Sink: Print x2',
      'Source: Elements -> Map: rebalance',
      'Map -> Reduce: hash',
      'Reduce => Sink: Print: forward',
    ],
  },
  {
    name: 'keyBy at parallelism 1 chains (every key goes to the one subtask)',
    build: () => {
      const e = env();
      e.fromElements(1).keyBy((x) => x).reduce((a, b) => a + b).print();
      return e;
    },
    expected: ['Source: Elements -> Reduce -> Sink: Print x1', 'Source: Elements => Reduce: hash', 'Reduce => Sink: Print: forward'],
  },
  {
    name: 'union: an operator with two inputs starts a task',
    build: () => {
      const e = env();
      e.fromElements(1).uid('a').union(e.fromElements(2).uid('b')).map((x) => x).print();
      return e;
    },
    expected: ['Source: Elements x1', 'Source: Elements x1', 'Map -> Sink: Print x1', 'a -> Map: forward', 'b -> Map: forward', 'Map => Sink: Print: forward'],
  },
  {
    name: 'rebalance() crosses a channel even at equal parallelism',
    build: () => {
      const e = env();
      e.fromElements(1).rebalance().map((x) => x).print();
      return e;
    },
    expected: ['Source: Elements x1', 'Map -> Sink: Print x1', 'Source: Elements -> Map: rebalance', 'Map => Sink: Print: forward'],
  },
  {
    name: 'a side output chains like the main output and names its tag',
    build: () => {
      const e = env();
      const odd = new OutputTag<number>('odd');
      const main = e.fromElements(1).process<number>({ processElement: (v, ctx, out) => (v % 2 === 1 ? ctx.output(odd, v) : out.collect(v)) });
      main.print().uid('evens');
      main.getSideOutput(odd).addSink(() => undefined).uid('odds');
      return e;
    },
    expected: [
      'Source: Elements -> Process -> Sink: Print -> Sink: Function x1',
      'Source: Elements => Process: forward',
      'Process => evens: forward',
      'Process => odds: forward [odd]',
    ],
  },
  {
    name: 'a different parallelism on a forward edge becomes rebalance',
    build: () => {
      const e = env(2);
      e.fromElements(1).map((x) => x).sinkTo(discard).setParallelism(1);
      return e;
    },
    expected: ['Source: Elements x1', 'Map x2', 'Sink x1', 'Source: Elements -> Map: rebalance', 'Map -> Sink: rebalance'],
  },
  {
    name: "chaining 'head' starts a task",
    build: () => {
      const e = env();
      e.fromElements(1).map((x) => x).transform('Head', passThrough, { chaining: 'head' }).print();
      return e;
    },
    expected: ['Source: Elements -> Map x1', 'Head -> Sink: Print x1', 'Source: Elements => Map: forward', 'Map -> Head: forward', 'Head => Sink: Print: forward'],
  },
  {
    name: "chaining 'first' (the async operators) chains to a source that feeds only it",
    build: () => {
      const e = env();
      e.fromElements(1).transform('Async', passThrough, { chaining: 'first' }).print();
      return e;
    },
    expected: ['Source: Elements -> Async -> Sink: Print x1', 'Source: Elements => Async: forward', 'Async => Sink: Print: forward'],
  },
  {
    name: "chaining 'first' after an operator starts a task",
    build: () => {
      const e = env();
      e.fromElements(1).map((x) => x).transform('Async', passThrough, { chaining: 'first' }).print();
      return e;
    },
    expected: ['Source: Elements -> Map x1', 'Async -> Sink: Print x1', 'Source: Elements => Map: forward', 'Map -> Async: forward', 'Async => Sink: Print: forward'],
  },
  {
    name: "chaining 'first' after a source that also feeds another operator starts a task",
    build: () => {
      const e = env();
      const source = e.fromElements(1);
      source.transform('Async', passThrough, { chaining: 'first' }).print();
      source.addSink(() => undefined);
      return e;
    },
    expected: [
      'Source: Elements -> Sink: Function x1',
      'Async -> Sink: Print x1',
      'Source: Elements -> Async: forward',
      'Source: Elements => Sink: Function: forward',
      'Async => Sink: Print: forward',
    ],
  },
];

describe('graph compilation, seen through the plain-data job graph', () => {
  it.each(cases)('$name', ({ build, expected }) => {
    expect(summary(build().getJobGraph())).toEqual(expected);
  });

  it('names sources, operators and sinks, with ids, uids and the vertex each runs in', () => {
    const e = env();
    e.fromElements(1).uid('numbers').map((x) => x).name('Double').addSink(() => undefined);
    const view = e.getJobGraph();
    expect(view.operators.map(({ name, uid, kind, parallelism }) => ({ name, uid, kind, parallelism }))).toEqual([
      { name: 'Source: Elements', uid: 'numbers', kind: 'source', parallelism: 1 },
      { name: 'Double', uid: undefined, kind: 'operator', parallelism: 1 },
      { name: 'Sink: Function', uid: undefined, kind: 'sink', parallelism: 1 },
    ]);
    expect(view.operators[0]?.id).toBe('numbers');
    expect(new Set(view.operators.map((o) => o.vertex))).toEqual(new Set(['numbers']));
    expect(view.vertices[0]?.operators).toEqual(view.operators.map((o) => o.id));
  });

  it('is plain data, and a running job describes the same graph without the environment losing its pipeline', async () => {
    const e = env(2);
    const out: number[] = [];
    e.fromElements(1, 2, 3).keyBy((x) => x).map((x) => x * 10).addSink((x) => void out.push(x));
    const before = e.getJobGraph();
    expect(JSON.parse(JSON.stringify(before))).toEqual(before);
    expect(structuredClone(before)).toEqual(before);
    const job = e.executeAsync('described');
    expect(job.graph()).toEqual(before);
    await job.result;
    expect(out.sort()).toEqual([10, 20, 30]);
    expect(job.graph()).toEqual(before);
  });
});
