import { describe, expect, it } from 'vitest';
import {
  drain,
  ManualClock,
  MetricRegistry,
  RestartStrategies,
  silentLogger,
  StreamExecutionEnvironment,
  type JobEvent,
  type LogFields,
  type Logger,
  type MapFunction,
  type RuntimeContext,
} from '../src/index.js';
import { driveUntilDone, gatedSource } from './support/gatedSource.js';

describe('JobClient.onEvent and JobClient.metrics (what a live view reads)', () => {
  it('hands every runtime event to a listener added right after executeAsync(), its start included, even with a logger that drops them', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, logger: silentLogger, restartStrategy: RestartStrategies.fixedDelay(1, 100) });
    let failed = false;
    env
      .fromElements(1, 2, 3)
      .map({
        open(_ctx: RuntimeContext) {
          if (!failed) {
            failed = true;
            throw new Error('model not loaded');
          }
        },
        map: (n: number) => n,
      } satisfies MapFunction<number, number>)
      .name('enrich')
      .addSink(() => undefined);
    const job = env.executeAsync('watched');
    const seen: JobEvent[] = [];
    job.onEvent((event) => seen.push(event));
    await driveUntilDone(job.result, clock);
    expect(seen.map((e) => e.fields.event)).toEqual(['job.started', 'job.restarting', 'job.ended']);
    expect(seen[1]).toMatchObject({ level: 'warn', fields: { operator: "'enrich'", subtask: 0, cause: 'model not loaded', jobId: job.jobId } });
  });

  it('stops calling a listener once unsubscribed', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock, logger: silentLogger });
    const gate = gatedSource(2);
    env.fromSource(gate.source, 'numbers').addSink(() => undefined);
    const job = env.executeAsync('unsubscribed');
    const seen: string[] = [];
    const stop = job.onEvent((event) => seen.push(String(event.fields.event)));
    stop();
    gate.openUntil(2);
    await job.result;
    expect(seen).toEqual([]);
  });

  it('a listener that throws loses its event, never the job nor the logger line', async () => {
    const clock = new ManualClock(0);
    const lines: LogFields[] = [];
    const logger: Logger = { debug: () => undefined, info: (_m, f) => void lines.push(f), warn: () => undefined, error: () => undefined };
    const env = StreamExecutionEnvironment.create({ clock, logger });
    const gate = gatedSource(2);
    env.fromSource(gate.source, 'numbers').addSink(() => undefined);
    const job = env.executeAsync('throwing listener');
    job.onEvent(() => {
      throw new Error('view crashed');
    });
    gate.openUntil(2);
    expect((await job.result).status).toBe('finished');
    expect(lines.map((f) => f.event)).toContain('job.ended');
  });

  it('an async listener that rejects loses its event, never the process nor the job', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ clock });
    const gate = gatedSource(2);
    env.fromSource(gate.source, 'numbers').addSink(() => undefined);
    const job = env.executeAsync('rejecting listener');
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async listener, which TypeScript accepts where a void one is expected, is the case
    job.onEvent(async () => {
      await Promise.resolve();
      throw new Error('view crashed later');
    });
    gate.openUntil(2);
    expect((await job.result).status).toBe('finished');
    // vitest runs with --unhandled-rejections=strict: before, the rejection ended the run here.
    await drain();
  });

  it('exposes the registry the job registers its metrics in', async () => {
    const metrics = new MetricRegistry();
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), logger: silentLogger, metrics });
    env.fromElements(1, 2).name('numbers').addSink(() => undefined);
    const job = env.executeAsync('with registry');
    await job.result;
    expect(job.metrics).toBe(metrics);
    const ins = [...job.metrics.entries()].filter((e) => e.variables.job_id === job.jobId && e.name === 'numRecordsOut' && e.variables.operator === 'numbers');
    expect(ins.map((e) => (e.metric.kind === 'counter' ? e.metric.count : -1))).toEqual([2]);
  });
});
