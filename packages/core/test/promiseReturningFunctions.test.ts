import { describe, expect, it } from 'vitest';
import { InvalidJobError, StreamExecutionEnvironment, type DataStream } from '../src/index.js';

/**
 * map, filter and flatMap take synchronous functions. One that returns a
 * Promise used to pass silently: a filter kept every record (a Promise is
 * truthy) and a map emitted the Promises themselves.
 */
const env = (chunkSize: number): StreamExecutionEnvironment => StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize });
const ASYNC_HINT = /AsyncDataStream .*docs\/async-batching\.md/;

// Fused: chained maps and filters run as one loop. Keyed: the operators run themselves (they set the key first).
// chunkSize 1 hands the operators single records, a larger one whole chunks.
const shapes = [
  ['fused, by chunk', (s: DataStream<number>) => s, 64],
  ['fused, by record', (s: DataStream<number>) => s, 1],
  ['keyed, by chunk', (s: DataStream<number>) => s.keyBy((n) => n % 2), 64],
  ['keyed, by record', (s: DataStream<number>) => s.keyBy((n) => n % 2), 1],
] as const;

describe('a function that returns a Promise', () => {
  it.each(shapes)('fails the job at the first record of a map, naming it (%s)', async (_title, shape, chunkSize) => {
    const e = env(chunkSize);
    const stream = shape(e.fromElements(1, 2, 3)).map((n) => Promise.resolve(n * 2)).name('double');
    await expect(stream.executeAndCollect()).rejects.toThrow(/operator 'double'.*the map function returned a Promise/);
    await expect(shape(env(chunkSize).fromElements(1)).map((n) => Promise.resolve(n)).executeAndCollect()).rejects.toThrow(ASYNC_HINT);
  });

  it.each(shapes)('fails the job at the first record of a filter, naming it (%s)', async (_title, shape, chunkSize) => {
    const stream = shape(env(chunkSize).fromElements(1, 2, 3)).filter(() => Promise.resolve(false) as unknown as boolean).name('drop');
    await expect(stream.executeAndCollect()).rejects.toThrow(/operator 'drop'.*the filter function returned a Promise.*AsyncDataStream/);
  });

  it.each(shapes)('still lets a filter return any other truthy or falsy value (%s)', async (_title, shape, chunkSize) => {
    const kept = shape(env(chunkSize).fromElements(0, 1, 2, 3))
      .filter((n) => (n % 2 === 0 ? n : 'odd') as unknown as boolean)
      .executeAndCollect();
    expect((await kept).sort()).toEqual([2, 1, 3].sort());
  });

  it.each(shapes)('fails the job at the first record of a flatMap, naming it (%s)', async (_title, shape, chunkSize) => {
    const fn = shape(env(chunkSize).fromElements(1, 2)).flatMap((n) => Promise.resolve([n]) as unknown as number[]).name('explode');
    await expect(fn.executeAndCollect()).rejects.toThrow(/operator 'explode'.*the flatMap function returned a Promise.*AsyncDataStream/);
    const collector = shape(env(chunkSize).fromElements(1, 2))
      .flatMap<number>({
        flatMap(n, out) {
          return Promise.resolve().then(() => out.collect(n)) as unknown as void;
        },
      })
      .name('later');
    await expect(collector.executeAndCollect()).rejects.toThrow(/operator 'later'.*the flatMap function returned a Promise/);
  });

  it('is refused at build time when it is an async function, naming the operator', () => {
    const stream = env(64).fromElements(1, 2, 3);
    const cases = [
      ['filter', () => stream.filter((async () => false) as never)],
      ['map', () => stream.map(async (n) => n * 2)],
      ['map', () => stream.map({ map: async (n: number) => n * 2 })],
      ['flatMap', () => stream.flatMap(async function* (n: number) { yield n; } as never)],
      ['filter', () => stream.keyBy((n) => n).filter({ filter: async () => true } as never)],
    ] as const;
    for (const [operator, build] of cases) {
      expect(build).toThrow(InvalidJobError);
      expect(build).toThrow(new RegExp(`^${operator}\\(\\): the function is async.*AsyncDataStream.*docs/async-batching\\.md`));
    }
  });
});
