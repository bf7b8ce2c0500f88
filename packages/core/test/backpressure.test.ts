import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment, type Chaining } from '../src/index.js';

describe('backpressure', () => {
  it('keeps an infinite source within a fixed bound of a slow async sink over 1,000,000 records', async () => {
    const chunkSize = 256;
    const channelCapacity = 4;
    const sinkParallelism = 2;
    // The map and the sink run at sinkParallelism, chained: one channel per sink subtask, fed by the one source.
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: sinkParallelism, chunkSize, channelCapacity });
    let produced = 0;
    function* naturals() {
      for (;;) yield produced++;
    }
    let consumed = 0;
    let reachedMillion: () => void = () => undefined;
    const million = new Promise<void>((resolve) => (reachedMillion = resolve));
    let maxInFlight = 0;
    let maxQueued = 0;
    const queued = () =>
      [0, 1].reduce((n, s) => n + (env.metrics.snapshot()[`job.slow sink.operator.Map.${s}.inputQueueRecords`] as number), 0);

    env
      .fromCollection(naturals())
      .rebalance()
      .map((n) => n * 2)
      .addSink(async () => {
        if (++consumed === 1_000_000) reachedMillion();
        maxInFlight = Math.max(maxInFlight, produced - consumed);
        if (consumed % 4096 === 0) maxQueued = Math.max(maxQueued, queued());
        // A slow sink: every write waits for a turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      });
    const job = env.executeAsync('slow sink');
    await million;
    job.cancel();
    await job.result;

    // What may be in flight: one source read, the writer's partial chunk per target, per channel
    // `capacity` chunks plus one overshoot chunk, and the chunk each sink subtask is working
    // through. Nothing grows with the input.
    const bound =
      chunkSize + sinkParallelism * (chunkSize - 1) + sinkParallelism * (channelCapacity + 1) * chunkSize + sinkParallelism * chunkSize;
    expect(maxInFlight).toBeLessThanOrEqual(bound);
    expect(maxQueued).toBeLessThanOrEqual(sinkParallelism * (channelCapacity + 1) * chunkSize);
    expect(maxQueued).toBeGreaterThan(0); // the queues did fill: the sink was the bottleneck
    expect(produced - consumed).toBeLessThanOrEqual(bound);
  }, 60_000);
});

describe('long-running jobs', () => {
  it('leave no listener behind per backpressure wait (no growth with the number of records)', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 16, channelCapacity: 1 });
    let maxListeners = 0;
    let signal: AbortSignal | undefined;
    let seen = 0;
    env
      .fromCollection(Array.from({ length: 200_000 }, (_, i) => i))
      .transform<number>('watch', (ctx) => {
        signal = ctx.task.signal;
        return { processElement: (v: number) => ctx.output.collect(v) };
      })
      .rebalance()
      .map((n) => n)
      .addSink(async () => {
        // Every write waits: the task waits on backpressure for every record.
        if (++seen % 1000 === 0 && signal !== undefined) maxListeners = Math.max(maxListeners, getEventListeners(signal, 'abort').length);
        await Promise.resolve();
      });
    await env.execute('listeners');
    expect(seen).toBe(200_000);
    expect(maxListeners).toBeGreaterThan(0);
    expect(maxListeners).toBeLessThan(20);
  });

  it('leave no listener behind per asynchronous source read', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    let next = 0;
    let maxListeners = 0;
    env
      .fromSource<number>(
        {
          createReader: (ctx) => {
            return {
              // One record per read, each after a turn of the event loop (as a broker read would).
              read: () => {
                if (next % 500 === 0) maxListeners = Math.max(maxListeners, getEventListeners(ctx.signal, 'abort').length);
                return next >= 20_000 ? null : new Promise<number[]>((resolve) => setImmediate(() => resolve([next++])));
              },
              position: () => next,
            };
          },
        },
        'slow reads',
      )
      .addSink(() => undefined);
    await env.execute('reads');
    expect(next).toBe(20_000);
    // A listener left per read would make this grow into the thousands.
    expect(maxListeners).toBeLessThan(20);
  });
});

/**
 * Runs 100 records through an operator that holds records until it has
 * `bound` of them, then releases them all a promise turn later, with
 * `freeCapacity` saying how many more it takes.
 */
async function runBounded(chaining: Chaining, viaMap: boolean) {
  const bound = 5;
  const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 16 });
  const chunkSizes: number[] = [];
  let peakHeld = 0;
  const out: number[] = [];
  const source = env.fromCollection(Array.from({ length: 100 }, (_, i) => i));
  (viaMap ? source.map((x) => x) : source)
    .transform<number>(
      'Bounded',
      (ctx) => {
        let held: number[] = [];
        const release = (): Promise<void> =>
          Promise.resolve().then(() => {
            for (const x of held) ctx.output.collect(x);
            held = [];
          });
        return {
          processElement: (x: number) => {
            throw new Error(`fed record ${x} one by one: the task should hand over chunks`);
          },
          processChunk: (values: readonly number[]) => {
            chunkSizes.push(values.length);
            held.push(...values);
            peakHeld = Math.max(peakHeld, held.length);
            if (held.length >= bound) ctx.task.backpressure(release());
          },
          freeCapacity: () => bound - held.length,
          endInput: () => release(),
        };
      },
      { chaining },
    )
    .addSink((x) => {
      out.push(x);
    });
  const result = await env.execute('bounded');
  const ownTask = result.metrics['job.bounded.operator.Bounded.0.busyTimeMs'] !== undefined;
  return { bound, chunkSizes, peakHeld, out, ownTask };
}

describe('an operator with freeCapacity', () => {
  it.each([
    ['head', false, true],
    ['first', true, true],
    ['first', false, false],
  ] as const)(
    "chained '%s' (after a map: %s) gets chunks cut to its free capacity, holds at most its bound and loses nothing (own task: %s)",
    async (chaining, viaMap, expectOwnTask) => {
      const { bound, chunkSizes, peakHeld, out, ownTask } = await runBounded(chaining, viaMap);
      expect(ownTask).toBe(expectOwnTask);
      expect(peakHeld).toBe(bound);
      expect(Math.max(...chunkSizes)).toBe(bound);
      expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
    },
  );

  it("'first' does not chain to a source that also feeds another operator", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const source = env.fromElements(1, 2, 3);
    source.map((x) => x).addSink(() => undefined);
    source.transform<number>('Bounded', (ctx) => ({ processElement: (x: number) => ctx.output.collect(x) }), { chaining: 'first' }).addSink(() => undefined);
    const result = await env.execute('fan-out');
    expect(result.metrics['job.fan-out.operator.Bounded.0.busyTimeMs']).toBeDefined();
  });

  it('an unknown chaining fails at build time naming the option', () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    expect(() => env.fromElements(1).transform('Odd', () => ({ processElement: () => undefined }), { chaining: 'never' as Chaining })).toThrow(
      "transform('Odd'): option 'chaining' must be 'always', 'head' or 'first', got 'never'",
    );
  });
});
