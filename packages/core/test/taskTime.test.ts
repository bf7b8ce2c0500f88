import { describe, expect, it } from 'vitest';
import { ManualClock, StreamExecutionEnvironment, type OperatorFactory } from '../src/index.js';
import { until } from './support/gatedSource.js';

/** Forwards its records; from the first record on, asks its task to wait until `gate` settles. */
function gated(gate: Promise<void>): OperatorFactory<number, number> {
  return (ctx) => {
    let held = false;
    return {
      processElement(n: number) {
        if (!held) ctx.task.backpressure(gate);
        held = true;
        ctx.output.collect(n);
      },
    };
  };
}

describe("a task's time", () => {
  it('is busy, backpressured or idle: a producer blocked by a full channel is backpressured and never idle, a consumer starved of input is idle and never backpressured', async () => {
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), parallelism: 1, chunkSize: 1, channelCapacity: 1 });
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const out: number[] = [];
    env
      .fromElements(...Array.from({ length: 20 }, (_, i) => i))
      .name('numbers')
      .transform('Gate', gated(gate), { chaining: 'head' })
      .transform<number>('Last', (ctx) => ({ processElement: (n: number) => ctx.output.collect(n) }), { chaining: 'head' })
      .addSink((n) => void out.push(n));
    const job = env.executeAsync('times');
    const waitsOf = (prefix: string) => job.tasks().find((t) => t.task.startsWith(prefix))?.waitingOn;
    // Polled until all hold at once: between two turns of records a task waits on nothing.
    const blocked = () => waitsOf('numbers')?.startsWith('backpressure') === true && waitsOf('Gate')?.startsWith('backpressure') === true;
    await until(() => blocked() && waitsOf('Last') === 'input', 'the producers blocked and the consumer starved');
    release();
    const result = await job.result;
    expect(out).toHaveLength(20);
    const time = (operator: string) => {
      const of = (name: string) => result.metrics[`job.times.operator.${operator}.0.${name}`];
      return { busy: of('busyTimeMs'), backPressured: of('backPressuredTimeMs'), idle: of('idleTimeMs') };
    };
    const [source, gateTask, last] = [time('numbers'), time('Gate'), time('Last')];
    // Counts that must be above zero or exactly zero: no threshold on how long anything took.
    expect(source.busy).toBeGreaterThan(0);
    expect(source.backPressured).toBeGreaterThan(0);
    expect(source.idle).toBe(0); // a collection is read at once: the source never waits for input
    expect(gateTask.backPressured).toBeGreaterThan(0);
    expect(last.idle).toBeGreaterThan(0);
    expect(last.backPressured).toBe(0); // its sink never holds it up
    expect(last.busy).toBeGreaterThan(0);
  });
});
