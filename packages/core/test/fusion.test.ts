import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../src/index.js';
import { abortRaceOf, raceAbort } from '../src/runtime/raceAbort.js';

const numbers = Array.from({ length: 1000 }, (_, i) => i);

describe('fused maps and filters', () => {
  it('keep records in and out per operator, as unfused operators count them', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 64 });
    env
      .fromCollection(numbers)
      .map((n) => n * 2)
      .name('double')
      .filter((n) => n % 3 !== 0)
      .name('not-3')
      .map((n) => n + 1)
      .name('inc')
      .filter((n) => n % 5 !== 0)
      .name('not-5')
      .addSink(() => undefined)
      .name('sink');
    const result = await env.execute('fused counts');
    const byName = Object.fromEntries(result.operators.map((o) => [o.name, o]));
    const afterNot3 = numbers.map((n) => n * 2).filter((n) => n % 3 !== 0);
    const afterNot5 = afterNot3.map((n) => n + 1).filter((n) => n % 5 !== 0);
    expect(byName.double).toMatchObject({ recordsIn: 1000, recordsOut: 1000 });
    expect(byName['not-3']).toMatchObject({ recordsIn: 1000, recordsOut: afterNot3.length });
    expect(byName.inc).toMatchObject({ recordsIn: afterNot3.length, recordsOut: afterNot3.length });
    expect(byName['not-5']).toMatchObject({ recordsIn: afterNot3.length, recordsOut: afterNot5.length });
    expect(byName.sink).toMatchObject({ recordsIn: afterNot5.length });
  });

  it('name the operator whose function threw', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 100 });
    env
      .fromCollection(numbers)
      .map((n) => n + 1)
      .name('first')
      .map((n) => {
        if (n === 50) throw new Error('bad record 50');
        return n;
      })
      .name('second')
      .uid('second-uid')
      .filter(() => true)
      .name('third')
      .addSink(() => undefined);
    await expect(env.execute('fused failure')).rejects.toThrow(/operator 'second' \(uid 'second-uid'\).*bad record 50/);
  });

  it('run a keyed map on its own (it sets the current key per record), next to fused ones', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const out = await env
      .fromCollection(numbers)
      .keyBy((n) => n % 7)
      .map({
        map(n: number) {
          return n;
        },
      })
      .map((n) => n * 10)
      .filter((n) => n % 20 === 0)
      .executeAndCollect();
    expect(out.sort((a, b) => a - b)).toEqual(numbers.map((n) => n * 10).filter((n) => n % 20 === 0));
  });
});

describe('raceAbort', () => {
  it('settles like the promise, or with undefined on abort, and leaves one listener on the signal however often it waits', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 1000; i++) expect(await raceAbort(Promise.resolve(i), controller.signal)).toBe(i);
    await expect(raceAbort(Promise.reject(new Error('boom')), controller.signal)).rejects.toThrow('boom');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const parked = raceAbort(new Promise<number>(() => undefined), controller.signal);
    controller.abort();
    expect(await parked).toBeUndefined();
    expect(await raceAbort(Promise.resolve(1), controller.signal)).toBeUndefined();
  });

  it('waits without touching the signal once its race exists (the shape of a signal differs from job to job), and shares its one listener', async () => {
    const controller = new AbortController();
    const race = abortRaceOf(controller.signal);
    // A read of the signal from a wait would throw here: the hot path must read only the race's own fields.
    Object.defineProperty(controller.signal, 'aborted', {
      get: () => {
        throw new Error('a wait read signal.aborted');
      },
    });
    for (let i = 0; i < 100; i++) expect(await race.race(Promise.resolve(i))).toBe(i);
    expect(await raceAbort(Promise.resolve(7), controller.signal)).toBe(7);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const parked = race.race(new Promise<number>(() => undefined));
    controller.abort();
    expect(await parked).toBeUndefined();
    expect(await race.race(Promise.resolve(1))).toBeUndefined();
  });

  it('gives undefined at once for a signal aborted before its race was made', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await abortRaceOf(controller.signal).race(Promise.resolve(1))).toBeUndefined();
  });
});

describe('without code generation', () => {
  it('runs maps and filters unfused, with the same output and counts', () => {
    // `--disallow-code-generation-from-strings` makes `new Function` throw: the fused loop cannot be generated.
    // The child runs the built package (turbo builds it before these tests).
    const script = `
      import { StreamExecutionEnvironment } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
      const out = [];
      env.fromCollection(Array.from({ length: 100 }, (_, i) => i)).map((n) => n * 2).name('double')
        .filter((n) => n % 3 !== 0).name('not-3').addSink((n) => void out.push(n));
      const result = await env.execute('unfused');
      const counts = result.operators.map((o) => [o.name, o.recordsIn, o.recordsOut]);
      console.log(JSON.stringify({ sum: out.reduce((a, b) => a + b, 0), n: out.length, counts }));`;
    const child = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const kept = numbers.slice(0, 100).map((n) => n * 2).filter((n) => n % 3 !== 0);
    expect(JSON.parse(child.stdout)).toMatchObject({
      sum: kept.reduce((a, b) => a + b, 0),
      n: kept.length,
      counts: expect.arrayContaining([
        ['double', 100, 100],
        ['not-3', 100, kept.length],
      ]) as unknown,
    });
  });
});
