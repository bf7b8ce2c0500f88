import { describe, expect, it } from 'vitest';
import { OutputTag, RATE_LIMIT_MS, StreamExecutionEnvironment, type LogFields, type Logger, type LogLevel } from '@tributary/core';
import { FakeBatchService, ManualClock, collect, runJobToCompletion } from '@tributary/testing';
import { AsyncDataStream, RetryStrategies, type DeadLetter } from '../src/index.js';
import { range } from './helpers.js';

/** A logger that keeps every line, to assert on events by name. */
function recordingLogger() {
  const lines: { level: LogLevel; message: string; fields: LogFields }[] = [];
  const at =
    (level: LogLevel) =>
    (message: string, fields: LogFields): void =>
      void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, events: (event: string) => lines.filter((l) => l.fields.event === event) };
}

describe('the async operator logs', () => {
  it('throttling (rate-limited, with a count) and each AIMD limit change, naming the operator and subtask', async () => {
    const clock = new ManualClock(0);
    const { logger, events } = recordingLogger();
    const env = StreamExecutionEnvironment.create({ clock, logger });
    const service = new FakeBatchService<number, number>({
      clock,
      handler: (xs) => [...xs],
      latency: { baseMs: 10, perItemMs: 0 },
      throttleCalls: [1, 2, 3],
      retryAfterMs: 20,
    });
    const out = collect(
      AsyncDataStream.unorderedWaitBatch(env.fromCollection(range(1, 12)), (xs, { signal }) => service.call(xs, { signal }), {
        maxBatchSize: 1,
        maxInFlightBatches: 4,
        retry: RetryStrategies.fixedDelay({ maxAttempts: 5, delayMs: 1 }),
      }).name('embed'),
    );
    const result = await runJobToCompletion(env.executeAsync('throttled'), clock);
    expect(result.status).toBe('finished');
    expect(out).toHaveLength(12);

    const throttled = events('async.throttled');
    // The first throttle writes a line at once; the two within RATE_LIMIT_MS are counted and written when the job ends.
    expect(throttled.map((l) => [l.level, l.fields.count])).toEqual([
      ['warn', 1],
      ['warn', 2],
    ]);
    expect(throttled[0]?.fields).toEqual({ event: 'async.throttled', job: 'throttled', jobId: expect.stringMatching(/^[0-9a-f]{32}$/), operator: "'embed'", subtask: 0, limit: 2, count: 1 });
    expect(throttled[0]?.message).toBe('1 call was throttled; concurrency limit now 2');

    const limits = events('async.limitChanged').map((l) => [l.fields.previous, l.fields.limit]);
    // Three throttles halve 4 to 2 to 1 (1 stays 1), then successes add back about one per round.
    expect(limits.slice(0, 2)).toEqual([
      [4, 2],
      [2, 1],
    ]);
    expect(limits.slice(2).every(([previous, limit]) => limit === (previous as number) + 1)).toBe(true);
    expect(limits.length).toBeGreaterThan(2);
    expect(events('async.limitChanged')[0]?.level).toBe('info');
  });

  it('dead letters at most once per RATE_LIMIT_MS per subtask, with the count and the last error', async () => {
    const clock = new ManualClock(0);
    const { logger, events } = recordingLogger();
    const env = StreamExecutionEnvironment.create({ clock, logger });
    const service = new FakeBatchService<number, number>({
      clock,
      handler: (xs) => [...xs],
      latency: { baseMs: RATE_LIMIT_MS / 4, perItemMs: 0 },
      failRecords: (n) => n % 2 === 0,
    });
    const dead = new OutputTag<DeadLetter<number>>('dead');
    const results = AsyncDataStream.unorderedWaitBatch(env.fromCollection(range(1, 12)), (xs, { signal }) => service.call(xs, { signal }), {
      maxBatchSize: 1,
      maxInFlightBatches: 1,
      onFailure: { deadLetter: dead },
    }).name('embed');
    collect(results);
    const letters = collect(results.getSideOutput(dead));
    await runJobToCompletion(env.executeAsync('dead letters'), clock);
    expect(letters).toHaveLength(6);

    // One call every RATE_LIMIT_MS / 4, every second one dead-lettered: a line at the first, then one per window.
    const lines = events('async.deadLettered');
    expect(lines.map((l) => l.fields.count)).toEqual([1, 2, 2, 1]);
    expect(lines.every((l) => l.level === 'warn' && l.fields.operator === "'embed'" && l.fields.subtask === 0)).toBe(true);
    expect(lines[0]?.message).toMatch(/^1 record dead-lettered, last after 1 attempt: /);
    expect(lines[0]?.fields.lastError).toContain('FakeBatchService');
  });
});
