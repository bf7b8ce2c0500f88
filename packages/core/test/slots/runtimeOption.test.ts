import { describe, expect, it, vi } from 'vitest';
import { defineJob, InvalidJobError, ManualClock, StreamExecutionEnvironment } from '../../src/index.js';
import { registeredJob } from '../../src/api/defineJob.js';
import { failing, onManualClock, squares } from './fixtures/jobs.job.js';

describe("the environment's runtime option", () => {
  it('refuses an unknown runtime when the environment is created, naming the choices', () => {
    expect(() => StreamExecutionEnvironment.create({ runtime: 'threads' as never })).toThrow(
      new InvalidJobError("StreamExecutionEnvironment.create(): option 'runtime' must be 'slots' or 'single-thread', got 'threads'"),
    );
  });

  it('refuses a slot heap limit below 16 MB or not a whole number, naming the option', () => {
    expect(() => StreamExecutionEnvironment.create({ slotHeapMb: 8 })).toThrow("StreamExecutionEnvironment.create(): option 'slotHeapMb' must be an integer >= 16, got 8");
    expect(() => StreamExecutionEnvironment.create({ slotHeapMb: 64.5 })).toThrow(InvalidJobError);
  });

  it("refuses a custom clock with runtime 'slots', and slotHeapMb with 'single-thread', when the environment is created", () => {
    expect(() => StreamExecutionEnvironment.create({ runtime: 'slots', clock: new ManualClock(0) })).toThrow(
      new InvalidJobError(
        "StreamExecutionEnvironment.create(): option 'clock': a custom clock (ManualClock) needs runtime 'single-thread', since slots keep time by the system clock",
      ),
    );
    expect(() => StreamExecutionEnvironment.create({ runtime: 'single-thread', slotHeapMb: 64 })).toThrow(
      new InvalidJobError("StreamExecutionEnvironment.create(): option 'slotHeapMb' applies to runtime 'slots' only"),
    );
    // Left to the default, the runtime depends on the parallelism: known only at execute().
    expect(() => StreamExecutionEnvironment.create({ clock: new ManualClock(0), slotHeapMb: 64 })).not.toThrow();
  });

  it("refuses 'slots' for a job not built by defineJob, saying how to fix it", () => {
    const env = StreamExecutionEnvironment.create({ parallelism: 2, runtime: 'slots' });
    env.fromElements(1, 2).addSink(() => undefined);
    expect(() => env.executeAsync('plain')).toThrow(
      new InvalidJobError(
        "Job 'plain' cannot run in slots (runtime: 'slots'): every slot loads the job's module, so build the job with defineJob() and run it with " +
          "its execute() (see https://github.com/tributary-dev/tributary/blob/main/docs/concepts.md#job-modules), or pass runtime: 'single-thread' to StreamExecutionEnvironment.create() to run every subtask on this thread",
      ),
    );
  });

  it('refuses slots on a custom clock, also by default above parallelism 1', async () => {
    await expect(onManualClock.executeAndCollect({ n: 10, parallelism: 2 }, { jobName: 'manual' })).rejects.toThrow(
      new InvalidJobError(
        "Job 'manual' cannot run in slots (its parallelism is above 1, so it runs in slots by default) with a custom clock: slots keep time " +
          "by the system clock; a custom clock (ManualClock) needs runtime: 'single-thread'",
      ),
    );
  });

  it('runs a defined job at parallelism 1 on this thread by default (a ManualClock works)', async () => {
    const rows = await onManualClock.executeAndCollect({ n: 5, parallelism: 1 });
    expect(rows).toEqual([0, 1, 4, 9, 16]);
  });

  it("runs a defined job with runtime: 'single-thread' on this thread, whatever its parallelism", async () => {
    const rows = await onManualClock.executeAndCollect({ n: 5, parallelism: 3, runtime: 'single-thread' });
    expect(rows.sort((a, b) => a - b)).toEqual([0, 1, 4, 9, 16]);
  });
});

describe('defineJob', () => {
  it('needs the module as a file URL and a build function', () => {
    expect(() => defineJob({ module: 'jobs/x.ts', build: () => StreamExecutionEnvironment.create() })).toThrow(
      new InvalidJobError("defineJob(): option 'module' must be the job module's file URL (import.meta.url), got 'jobs/x.ts'"),
    );
    expect(() => defineJob({ module: import.meta.url, build: undefined as never })).toThrow(InvalidJobError);
  });

  it('registers jobs where every copy of the package in a thread finds them (tsx gives a CommonJS job module a copy of its own)', async () => {
    // A second instance of the module, as a second installed or loaded copy of the package has.
    vi.resetModules();
    const other = await import('../../src/api/defineJob.js');
    expect(other.defineJob).not.toBe(defineJob);
    const module = `${import.meta.url}#copies`;
    other.defineJob({ module, build: () => StreamExecutionEnvironment.create() });
    // Before, each copy kept its own registry: the slot said the module "defines no job #1".
    expect(registeredJob(module, 0)).toBeDefined();
  });

  it('refuses args that cannot reach a slot', () => {
    expect(() => squares.executeAsync({ n: 1, parallelism: 2, extra: () => 1 } as never, { jobName: 'args' })).toThrow(
      /^Job 'args': its args must be structured-cloneable, to reach every slot: /,
    );
  });

  it('rejects, and does not throw at the call, when a job cannot start', async () => {
    const started = squares.execute({ n: 1, parallelism: 2, extra: () => 1 } as never, { jobName: 'args' });
    await expect(started).rejects.toThrow(/^Job 'args': its args must be structured-cloneable, to reach every slot: /);
  });

  it('checks its run options as execute() does, naming the option', async () => {
    await expect(squares.execute({ n: 1, parallelism: 1 }, null as never)).rejects.toThrow('execute(): needs an options object');
    await expect(squares.execute({ n: 1, parallelism: 1 }, { jobname: 'x' } as never)).rejects.toThrow(
      "execute(): unknown option 'jobname'; did you mean 'jobName'?",
    );
  });

  it('says that build must be synchronous when it returns a Promise', async () => {
    const asyncBuild = defineJob({ module: import.meta.url, build: (async () => StreamExecutionEnvironment.create()) as never });
    await expect(asyncBuild.execute({})).rejects.toThrow(
      /^defineJob\(\): build must return a StreamExecutionEnvironment or a DataStream, got .* \(build must be synchronous: it returned a Promise\)$/,
    );
  });

  it('refuses executeAndCollect when build does not return a stream', async () => {
    await expect(failing.executeAndCollect({ n: 1, parallelism: 1, failure: 'throw', at: -1 } as never)).rejects.toThrow(
      "defineJob(): executeAndCollect() needs build to return the DataStream to collect",
    );
  });
});
