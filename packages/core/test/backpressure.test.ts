import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../src/index.js';

describe('backpressure', () => {
  it('keeps an infinite source within a fixed bound of a slow async sink over 1,000,000 records', async () => {
    const chunkSize = 256;
    const channelCapacity = 4;
    const sinkParallelism = 2;
    const env = StreamExecutionEnvironment.create({ chunkSize, channelCapacity });
    let produced = 0;
    function* naturals() {
      for (;;) yield produced++;
    }
    let consumed = 0;
    let maxInFlight = 0;
    let maxQueued = 0;
    const queued = () =>
      [0, 1].reduce((n, s) => n + (env.metrics.snapshot()[`job.slow sink.operator.Map.${s}.inputQueueRecords`] as number), 0);

    env
      .fromCollection(naturals())
      .rebalance()
      .map((n) => n * 2)
      .setParallelism(sinkParallelism)
      .addSink(async () => {
        consumed++;
        maxInFlight = Math.max(maxInFlight, produced - consumed);
        if (consumed % 4096 === 0) maxQueued = Math.max(maxQueued, queued());
        // A slow sink: every write waits for a turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      });
    const job = env.executeAsync('slow sink');
    while (consumed < 1_000_000) await new Promise((resolve) => setTimeout(resolve, 5));
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
