import { inspect } from 'node:util';
import type { Sink, SinkWriter, SinkWriterContext } from '../api/Sink.js';

/** Writes each record to stdout, prefixed with `subtask> ` when there are several subtasks (as Flink does). */
export class PrintSink<T> implements Sink<T> {
  constructor(private readonly prefix?: string) {}
  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    const parts = [this.prefix, ctx.parallelism > 1 ? String(ctx.subtaskIndex + 1) : undefined].filter((p) => p !== undefined);
    const head = parts.length > 0 ? `${parts.join(':')}> ` : '';
    return {
      write: (value) => {
        process.stdout.write(`${head}${typeof value === 'string' ? value : inspect(value, { depth: 4, breakLength: Infinity })}\n`);
      },
    };
  }
}
