import type { Sink, SinkWriter } from '../api/Sink.js';

/** Appends every record to one array, across subtasks (used by `executeAndCollect`). */
export class CollectSink<T> implements Sink<T> {
  /** `values`: where records go, in arrival order. */
  constructor(readonly values: T[] = []) {}

  createWriter(): SinkWriter<T> {
    const values = this.values;
    return {
      write: (value) => {
        values.push(value);
      },
    };
  }
}
