import { describe, expect, it } from 'vitest';
import { OutputTag, StreamExecutionEnvironment, type JobGraphView } from '@tributary/core';
import { AsyncDataStream, type DeadLetter } from '../src/index.js';

const service = (xs: readonly number[]) => Promise.resolve(xs.map((x) => x * 2));

/** Vertices as `name xparallelism`, then channel edges (`->`) and chained ones (`=>`) by operator name. */
function summary(view: JobGraphView): string[] {
  const name = new Map(view.operators.map((o) => [o.id, o.name]));
  return [
    ...view.vertices.map((v) => `${v.name} x${v.parallelism}`),
    ...view.edges.map((e) => `${name.get(e.from)} ${e.chained ? '=>' : '->'} ${name.get(e.to)}: ${e.partitioning}${e.sideOutput === undefined ? '' : ` [${e.sideOutput}]`}`),
  ];
}

describe('the async operators in the compiled job graph', () => {
  it.each([
    {
      name: 'chains straight after a source that feeds only it',
      build: (env: StreamExecutionEnvironment) => AsyncDataStream.unorderedWaitBatch(env.fromElements(1, 2), service, { maxBatchSize: 2 }).print(),
      expected: ['Source: Elements -> UnorderedWaitBatch -> Sink: Print x1', 'Source: Elements => UnorderedWaitBatch: forward', 'UnorderedWaitBatch => Sink: Print: forward'],
    },
    {
      name: 'starts a task after another operator, so its input enters at it',
      build: (env: StreamExecutionEnvironment) =>
        AsyncDataStream.orderedWaitBatch(env.fromElements(1, 2).map((x) => x + 1), service, { maxBatchSize: 2 }).print(),
      expected: [
        'Source: Elements -> Map x1',
        'OrderedWaitBatch -> Sink: Print x1',
        'Source: Elements => Map: forward',
        'Map -> OrderedWaitBatch: forward',
        'OrderedWaitBatch => Sink: Print: forward',
      ],
    },
    {
      name: 'sends dead letters along a side-output edge',
      build: (env: StreamExecutionEnvironment) => {
        const dead = new OutputTag<DeadLetter<number>>('dead');
        const out = AsyncDataStream.unorderedWaitBatch(env.fromElements(1, 2), service, { maxBatchSize: 2, onFailure: { deadLetter: dead } });
        out.print();
        out.getSideOutput(dead).addSink(() => undefined);
      },
      expected: [
        'Source: Elements -> UnorderedWaitBatch -> Sink: Print -> Sink: Function x1',
        'Source: Elements => UnorderedWaitBatch: forward',
        'UnorderedWaitBatch => Sink: Print: forward',
        'UnorderedWaitBatch => Sink: Function: forward [dead]',
      ],
    },
  ])('$name', ({ build, expected }) => {
    const env = StreamExecutionEnvironment.create();
    build(env);
    expect(summary(env.getJobGraph())).toEqual(expected);
  });
});
