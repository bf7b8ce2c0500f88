import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../src/index.js';

/** Runs `records` numbers from one fast source across a rebalance edge to 2 subtasks that record the chunks they get. */
async function chunksAcrossEdge(records: number, chunkSize: number) {
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2, chunkSize });
  const chunks: number[][] = [[], []];
  const out: number[] = [];
  env
    .fromCollection(Array.from({ length: records }, (_, i) => i))
    .rebalance()
    .transform<number>('Chunks', (ctx) => ({
      processElement: (x: number) => ctx.output.collect(x),
      processChunk: (values: readonly number[]) => {
        chunks[ctx.subtaskIndex]?.push(values.length);
        for (const x of values) ctx.output.collect(x);
      },
    }))
    .addSink((x) => {
      out.push(x);
    });
  await env.execute('chunks');
  return { chunks, out };
}

describe('a source task', () => {
  it('sends full chunks across an edge while it reads synchronously, partly filled ones only when it gives up the thread', async () => {
    // 1,000 records read 16 at a time, spread over 2 targets: flushed after every read they
    // would all arrive in chunks of 8. Held until a turn ends (1 ms) or the task waits, the
    // reads between fill chunks of 16.
    const { chunks, out } = await chunksAcrossEdge(1_000, 16);
    for (const sizes of chunks) {
      expect(Math.max(...sizes)).toBe(16);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(500);
    }
    expect(out.sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it('sends what it holds before it waits for an asynchronous read', async () => {
    // The source yields 3 records, then waits until the sink has them: held in the
    // writer until the next read's data came, they would never arrive (the job would hang).
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 256 });
    let sinkHasThree: () => void = () => undefined;
    const three = new Promise<void>((resolve) => (sinkHasThree = resolve));
    async function* records() {
      yield* [1, 2, 3];
      await three;
      yield 4;
    }
    const out: number[] = [];
    env
      .fromAsyncIterable(records())
      .rebalance()
      .addSink((x) => {
        out.push(x);
        if (out.length === 3) sinkHasThree();
      });
    await env.execute('async source');
    expect(out).toEqual([1, 2, 3, 4]);
  });
});
