import type { Sink, SinkWriter } from '../api/Sink.js';

/** A sink from a function: `addSink(v => db.insert(v))`. A returned promise backpressures. */
export class FunctionSink<T> implements Sink<T> {
  constructor(private readonly write: (value: T) => void | Promise<void>) {}
  createWriter(): SinkWriter<T> {
    return { write: this.write };
  }
}
