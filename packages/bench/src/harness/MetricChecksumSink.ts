import { defineJob, type DataStream, type StreamExecutionEnvironment, type JobDefinition, type JobExecutionResult, type Sink, type SinkWriter, type SinkWriterContext } from '@tributary/core';
import type { Checksum } from './model.js';

/**
 * The counting sink of a job that runs in slots, where a `ChecksumSink`
 * would count in another thread's heap: each subtask counts and sums into its
 * own metrics, which reach the main thread; {@link checksumOfMetrics} adds
 * them up from the job's result.
 */
export class MetricChecksumSink implements Sink<number> {
  createWriter(ctx: SinkWriterContext): SinkWriter<number> {
    const count = ctx.metrics.counter('checksumCount');
    const sum = ctx.metrics.counter('checksumSum');
    return {
      write: (v) => {
        count.count++;
        sum.count += v;
      },
    };
  }
}

/** The checksum of every subtask of a {@link MetricChecksumSink}, from the result of its job. */
export function checksumOfMetrics(result: JobExecutionResult): Checksum {
  let count = 0;
  let sum = 0;
  for (const [id, value] of Object.entries(result.metrics)) {
    if (typeof value !== 'number') continue;
    if (id.endsWith('.checksumCount')) count += value;
    else if (id.endsWith('.checksumSum')) sum += value;
  }
  return { count, sum };
}

/**
 * A scenario's job as a job module (`module`: the scenario's `import.meta.url`), its records counted by a
 * {@link MetricChecksumSink}: what a slots contender runs.
 */
export function checksumJob<A>(module: string, build: (args: A) => DataStream<number>): JobDefinition<A, StreamExecutionEnvironment> {
  return defineJob({
    module,
    build: (args: A) => {
      const stream = build(args);
      stream.sinkTo(new MetricChecksumSink()).name('checksum');
      return stream.env;
    },
  });
}
