import { describe, expect, it } from 'vitest';
import { InvalidJobError, JobExecutionError, StreamExecutionEnvironment, type Source } from '../src/index.js';

/** A source that counts how it was used, to check the runtime closes it. */
function trackedSource(items: number[] | 'infinite') {
  const log = { started: 0, closed: 0, read: 0 };
  const source: Source<number, number> = {
    createReader: () => {
      let next = 0;
      return {
        start: () => void log.started++,
        read: (max) => {
          if (items !== 'infinite' && next >= items.length) return null;
          const chunk: number[] = [];
          while (chunk.length < max && (items === 'infinite' || next < items.length)) chunk.push(next++);
          log.read += chunk.length;
          return chunk;
        },
        position: () => next,
        close: () => void log.closed++,
      };
    },
  };
  return { source, log };
}

describe('failure', () => {
  it('fails the job naming the job, the operator and the cause, and closes source and sink', async () => {
    const { source, log } = trackedSource(Array.from({ length: 1000 }, (_, i) => i));
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const sinkLog = { closed: 0 };
    const cause = new RangeError('bad record 500');
    env
      .fromSource(source, 'numbers')
      .rebalance()
      .map((n) => {
        if (n === 500) throw cause;
        return n;
      })
      .name('validate')
      .uid('validate-v1')
      .sinkTo({ createWriter: () => ({ write: () => undefined, close: () => void sinkLog.closed++ }) });
    const error: unknown = await env.execute('orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobExecutionError);
    const jobError = error as JobExecutionError;
    expect(jobError.message).toBe("Job 'orders' failed in operator 'validate' (uid 'validate-v1'): bad record 500");
    expect(jobError.jobName).toBe('orders');
    expect(jobError.cause).toBe(cause);
    expect(log.closed).toBe(1);
    expect(sinkLog.closed).toBe(2);
  });

  it('names the sink when an async write rejects, and stops reading', async () => {
    const { source, log } = trackedSource('infinite');
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    let writes = 0;
    env.fromSource(source, 'endless').addSink(async () => {
      if (++writes === 100) throw new Error('disk full');
    }).name('archive');
    await expect(env.execute('archive job')).rejects.toThrow("Job 'archive job' failed in operator 'archive': disk full");
    expect(log.closed).toBe(1);
    expect(log.read).toBeLessThan(1000);
  });

  it('fails on a key selector that returns undefined, naming the keyed operator', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    env
      .fromElements({ id: 'a' }, { id: undefined })
      .keyBy((r) => r.id as string)
      .map((r) => r)
      .name('enrich')
      .addSink(() => undefined);
    await expect(env.execute('keys')).rejects.toThrow(/keyBy before 'enrich'.*key selector returned undefined/);
  });

  it('names what a key selector returned that cannot be a key (an object, an array)', async () => {
    for (const [key, shown] of [[{ id: 1 }, 'an object'], [[1], 'an array']] as const) {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
      env
        .fromElements(1)
        .keyBy(() => key as never)
        .map((r) => r)
        .name('enrich')
        .addSink(() => undefined);
      await expect(env.execute('keys')).rejects.toThrow(`the key selector returned ${shown}; keys must be strings, numbers, bigints or booleans`);
    }
  });

  it('checks keys at parallelism 1 as at 2, also into an operator that never reads them (a sink)', async () => {
    const messages: string[] = [];
    for (const parallelism of [1, 2]) {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism });
      const written: unknown[] = [];
      env
        .fromElements(1, 2)
        .keyBy((n) => ({ n }) as never)
        .addSink((n) => void written.push(n))
        .name('archive');
      messages.push(await env.execute('object keys').then(() => 'finished', (e: unknown) => (e as Error).message));
      expect(written).toEqual([]);
    }
    expect(messages[0]).toBe("Job 'object keys' failed in operator keyBy before 'archive': the key selector returned an object; keys must be strings, numbers, bigints or booleans");
    expect(messages[1]).toBe(messages[0]);
  });

  it('calls a chained key selector once a record at parallelism 1: in the operator that sets the key, or for the check alone', async () => {
    for (const keyed of ['process', 'sink'] as const) {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
      let calls = 0;
      const stream = env.fromElements(1, 2, 3, 4).keyBy((n) => (calls++, n % 2));
      if (keyed === 'process') stream.process<number>({ processElement: (n, _ctx, out) => out.collect(n) }).addSink(() => undefined);
      else stream.addSink(() => undefined);
      await env.execute(`keys into ${keyed}`);
      expect(calls, keyed).toBe(4);
    }
  });

  it('fails on a key selector that throws, naming the keyed edge', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    env
      .fromElements(1, 2, 3)
      .keyBy((n) => {
        if (n === 2) throw new Error('no key for 2');
        return n;
      })
      .map((n) => n)
      .name('enrich')
      .addSink(() => undefined);
    const error = await env.execute('throwing keys').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^Job 'throwing keys' failed in operator keyBy before 'enrich': no key for 2$/);
    expect((error as { operator?: string }).operator).toBe("keyBy before 'enrich'");
  });

  it('reports a thrown value that has no text (from a function or a close()), naming the operator, instead of hanging', async () => {
    const noText = Object.create(null) as object;
    const badMessage = Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('no message for you');
      },
    });
    for (const [where, thrown] of [['map', noText], ['map', badMessage], ['close', noText], ['close', badMessage]] as const) {
      const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
      env
        .fromElements(1, 2, 3)
        .map({
          map: (n: number) => {
            // eslint-disable-next-line @typescript-eslint/only-throw-error -- what user code may throw is the point
            if (where === 'map') throw thrown;
            return n;
          },
          close: () => {
            // eslint-disable-next-line @typescript-eslint/only-throw-error -- what user code may throw is the point
            if (where === 'close') throw thrown;
          },
        })
        .name('thrower')
        .addSink(() => undefined);
      const error = await env.execute(`no text in ${where}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobExecutionError);
      expect((error as JobExecutionError).operator).toBe("'thrower'");
      expect((error as Error).message).toMatch(/failed in operator 'thrower': a thrown \[object (Object|Error)\] with no text/);
      expect((error as Error).cause).toBe(thrown);
    }
  });

  it('fails when a source read throws, naming the source', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env
      .fromSource<number>({ createReader: () => ({ read: () => Promise.reject(new Error('broker gone')), position: () => 0 }) }, 'broker')
      .print();
    await expect(env.execute()).rejects.toThrow(/operator 'broker': broker gone/);
  });
});

describe('cancel', () => {
  it('stops an infinite source, closes everything and resolves as cancelled', async () => {
    const { source, log } = trackedSource('infinite');
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    let seen = 0;
    let closed = 0;
    env
      .fromSource(source, 'endless')
      .rebalance()
      .map((n) => n + 1)
      .sinkTo({ createWriter: () => ({ write: () => void seen++, close: () => void closed++ }) });
    const job = env.executeAsync('forever');
    while (seen < 10_000) await new Promise((r) => setImmediate(r));
    expect(job.status).toBe('running');
    job.cancel();
    const result = await job.result;
    expect(result.status).toBe('cancelled');
    expect(job.status).toBe('cancelled');
    expect(log.closed).toBe(1);
    expect(closed).toBe(2);
  });

  it("ends a generator given to fromCollection early, running its finally block, and reads none of it twice", async () => {
    let cleanedUp = false;
    let pulled = 0;
    function* endless(): Generator<number> {
      try {
        for (;;) yield pulled++;
      } finally {
        cleanedUp = true;
      }
    }
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const seen: number[] = [];
    env.fromCollection(endless()).addSink((n) => {
      seen.push(n);
    });
    const job = env.executeAsync('generator');
    while (seen.length < 1_000) await new Promise((r) => setImmediate(r));
    job.cancel();
    await job.result;
    expect(cleanedUp).toBe(true);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
  });
});

describe('build-time validation', () => {
  it('leaves the pipeline of a refused start to be fixed and run: the retry runs it, and a started job takes it', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const out: number[] = [];
    const doubled = env.fromElements(1, 2, 3).map((n) => n * 2);
    doubled.addSink((n) => void out.push(n));
    expect(() => env.executeAsync('retry', { restoreFrom: 'latest' })).toThrow("Job 'retry': restoreFrom needs enableCheckpointing()");
    await env.execute('retry');
    expect(out).toEqual([2, 4, 6]);
    // Once a job ran, what it was built from is its own.
    expect(() => doubled.map((n) => n)).toThrow(/The stream 'Map' belongs to a job t/);
  });

  it('rejects bad parallelism with the option named', () => {
    expect(() => StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 0 })).toThrow("StreamExecutionEnvironment.create(): option 'parallelism' must be an integer in [1, 128], got 0");
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    expect(() => env.fromElements(1).map((n) => n).name('m').setParallelism(-2)).toThrow(
      "setParallelism() of 'm': option 'parallelism' must be an integer in [1, 128], got -2",
    );
    expect(() => env.fromElements(1).setParallelism(2)).toThrow(/'Source: Elements' is a non-parallel source/);
  });

  it('rejects a job without a sink', () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env.fromElements(1).map((n) => n);
    expect(() => env.executeAsync('empty')).toThrow(InvalidJobError);
    expect(() => env.executeAsync('empty')).toThrow("Job 'empty' has no sink");
  });

  it('rejects the same uid twice', () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env.fromElements(1).map((n) => n).uid('parse');
    expect(() => env.fromElements(2).filter(() => true).name('f').uid('parse')).toThrow("uid 'parse' is used twice in this job (second time on 'f')");
  });

  it('rejects a stream used after its job ran', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const doubled = env.fromElements(1, 2).map((n) => n * 2).name('double');
    expect(await doubled.executeAndCollect()).toEqual([2, 4]);
    expect(() => doubled.map((n) => n)).toThrow("The stream 'double' belongs to a job that already ran");
    // The environment itself can run a new job.
    expect(await env.fromElements(3).executeAndCollect()).toEqual([3]);
  });

  it('rejects functions of the wrong shape', () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const s = env.fromElements(1);
    expect(() => s.map({} as never)).toThrow('map() needs a function, an object with a map() method or a perSubtask() factory');
    expect(() => s.keyBy('id' as never)).toThrow('keyBy() needs a key selector function');
    expect(() => s.keyBy((n) => n).process({} as never)).toThrow('process() needs an object with a processElement() method');
    // A plain function has no processElement() for the operator to call: refused when built, not when run.
    expect(() => s.process(((n: number) => n) as never)).toThrow('process() needs an object with a processElement() method or a perSubtask() factory');
    expect(() => s.union(1 as never)).toThrow('union() needs DataStreams, got 1');
  });
});

describe('cancel while a source waits', () => {
  it('ends a job whose async generator is parked on an await that never settles', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    async function* stuck() {
      yield 1;
      await new Promise(() => undefined);
    }
    const seen: number[] = [];
    env.fromAsyncIterable(stuck()).addSink((n) => void seen.push(n));
    const job = env.executeAsync('parked');
    while (seen.length === 0) await new Promise((r) => setImmediate(r));
    job.cancel();
    expect((await job.result).status).toBe('cancelled');
  });
});
