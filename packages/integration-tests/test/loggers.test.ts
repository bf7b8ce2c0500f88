import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import winston from 'winston';
import { fieldsFirst, RestartStrategies, StreamExecutionEnvironment, type Logger, type MapFunction, type RuntimeContext } from '@tributary/core';
import { ManualClock, runJobToCompletion } from '@tributary/testing';

/** A stream that keeps what a logger writes, line by line. */
function lineSink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { stream, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A job whose map fails once on open, so the log shows a start, a restart and an end. */
async function runJobThatRestarts(logger: Logger): Promise<void> {
  const clock = new ManualClock(0);
  const env = StreamExecutionEnvironment.create({ clock, logger, restartStrategy: RestartStrategies.fixedDelay(1, 50) });
  let opens = 0;
  env
    .fromElements(1, 2, 3)
    .map({
      open(_ctx: RuntimeContext) {
        if (++opens === 1) throw new Error('cold start');
      },
      map: (n: number) => n,
    } satisfies MapFunction<number, number>)
    .name('enrich')
    .addSink(() => undefined);
  const result = await runJobToCompletion(env.executeAsync('orders'), clock);
  expect(result.status).toBe('finished');
}

describe('real loggers take the job events with their fields', () => {
  afterEach(() => vi.restoreAllMocks());

  it('pino, through fieldsFirst: one JSON line per event at its level, the fields merged in', async () => {
    const out = lineSink();
    await runJobThatRestarts(fieldsFirst(pino({ level: 'debug', base: null, timestamp: false }, out.stream)));
    const lines = out.json();
    expect(lines.map((l) => l.event)).toEqual(['job.started', 'job.restarting', 'job.ended']);
    expect(lines[1]).toEqual({
      level: 40,
      event: 'job.restarting',
      job: 'orders',
      jobId: expect.stringMatching(/^[0-9a-f]{32}$/),
      operator: "'enrich'",
      task: 'Source: Elements -> enrich -> Sink: Function (1/1)',
      subtask: 0,
      cause: 'cold start',
      delayMs: 50,
      attempt: 1,
      msg: "Job 'orders' failed in 'enrich' and restarts in 50 ms (restart 1): cold start",
    });
    expect(lines[2]).toMatchObject({ level: 30, event: 'job.ended', status: 'finished', records: 3, restarts: 1 });
  });

  it('winston, as it is: message first, the fields as its metadata', async () => {
    const out = lineSink();
    const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: out.stream })] });
    await runJobThatRestarts(logger);
    await new Promise((resolve) => setImmediate(resolve));
    const lines = out.json();
    expect(lines.map((l) => l.event)).toEqual(['job.started', 'job.restarting', 'job.ended']);
    expect(lines[1]).toMatchObject({
      level: 'warn',
      message: "Job 'orders' failed in 'enrich' and restarts in 50 ms (restart 1): cold start",
      event: 'job.restarting',
      subtask: 0,
      delayMs: 50,
    });
  });

  it('console, as it is: the message, then the fields object', async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await runJobThatRestarts(console);
    expect(info.mock.calls.map(([, fields]) => (fields as { event: string }).event)).toEqual(['job.started', 'job.ended']);
    expect(warn.mock.calls).toHaveLength(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ event: 'job.restarting', cause: 'cold start', delayMs: 50, attempt: 1 });
  });
});
