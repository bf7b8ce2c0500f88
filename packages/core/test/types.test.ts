import { describe, expectTypeOf, it } from 'vitest';
import { defineJob, OutputTag, StreamExecutionEnvironment, type CollectedJob, type DataStream, type KeyedStream, type SingleOutputStream } from '../src/index.js';

describe('type inference', () => {
  it('flows through every call', () => {
    const env = StreamExecutionEnvironment.create();
    const src = env.fromElements({ id: 'a', n: 1 });
    expectTypeOf(src).toEqualTypeOf<SingleOutputStream<{ id: string; n: number }>>();
    const mapped = src.map((r) => r.n * 2);
    expectTypeOf(mapped).toEqualTypeOf<SingleOutputStream<number>>();
    const keyed = src.keyBy((r) => r.id);
    expectTypeOf(keyed).toEqualTypeOf<KeyedStream<{ id: string; n: number }, string>>();
    const words = env.fromElements('a b').flatMap((s) => s.split(' '));
    expectTypeOf(words).toEqualTypeOf<SingleOutputStream<string>>();
    const narrowed = env.fromElements<string | number>(1, 'x').filter((v): v is number => typeof v === 'number');
    expectTypeOf(narrowed).toEqualTypeOf<SingleOutputStream<number>>();
    const tag = new OutputTag<Error>('errors');
    expectTypeOf(src.process<string>({ processElement: () => undefined }).getSideOutput(tag)).toEqualTypeOf<DataStream<Error>>();
    expectTypeOf(keyed.reduce((a) => a)).toEqualTypeOf<SingleOutputStream<{ id: string; n: number }>>();
    expectTypeOf<ReturnType<typeof mapped.executeAndCollect>>().resolves.toEqualTypeOf<number[]>();
    expectTypeOf<ReturnType<typeof mapped.executeAndCollectWithResult>>().resolves.toEqualTypeOf<CollectedJob<number>>();
    // @ts-expect-error keys must be routable values, not objects
    src.keyBy((r) => ({ id: r.id }));
    // @ts-expect-error union needs streams of the same type
    mapped.union(words);
  });

  it("gives a defined job's collect the record type of the stream build returns", () => {
    const lengths = defineJob({ module: import.meta.url, build: (args: { words: string[] }) => StreamExecutionEnvironment.create().fromCollection(args.words).map((w) => w.length) });
    expectTypeOf(lengths).toHaveProperty('executeAndCollect').returns.resolves.toEqualTypeOf<number[]>();
    expectTypeOf(lengths).toHaveProperty('executeAndCollectWithResult').returns.resolves.toEqualTypeOf<CollectedJob<number>>();
  });
});
