// The example of docs/concepts.md, "Inspecting the compiled graph": the guide shows these lines
// (marked `<!-- example: ... -->`), and the docs check verifies they are still here.
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '@tributary/core';

describe('docs/concepts.md', () => {
  it('describes the compiled graph before and while the job runs', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    env
      .fromElements('a b', 'b c')
      .flatMap((line) => line.split(' '))
      .keyBy((word) => word)
      .map((word) => word.toUpperCase())
      .uid('upper')
      .addSink(() => undefined);

    const graph = env.getJobGraph(); // compiled, not run: the pipeline stays in env
    const tasks = graph.vertices.map((v) => `${v.name} x${v.parallelism}`);
    // [ 'Source: Elements x1', 'FlatMap x2', 'Map -> Sink: Function x2' ]
    const shuffles = graph.edges.filter((e) => !e.chained).map((e) => e.partitioning);
    // [ 'rebalance', 'hash' ]: round-robin to the parallel flatMap, then by key
    const json = JSON.stringify(graph); // plain data: for a UI, a file, another thread

    const job = env.executeAsync('words');
    job.graph(); // the same view, while it runs
    await job.result;

    expect(tasks).toEqual(['Source: Elements x1', 'FlatMap x2', 'Map -> Sink: Function x2']);
    expect(shuffles).toEqual(['rebalance', 'hash']);
    expect(JSON.parse(json)).toEqual(graph);
    expect(job.graph()).toEqual(graph);
    expect(graph.operators.find((o) => o.uid === 'upper')).toMatchObject({ id: 'upper', kind: 'operator', parallelism: 2 });
  });
});
