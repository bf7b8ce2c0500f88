import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeMetric,
  Histogram,
  HISTOGRAM_BUCKETS,
  MetricRegistry,
  RestartStrategies,
  StreamExecutionEnvironment,
  type MapFunction,
  type MetricEntry,
} from '../src/index.js';
import { gatedSource, until } from './support/gatedSource.js';

const byId = (entries: Iterable<MetricEntry>) => new Map([...entries].map((e) => [e.id, e]));

describe('metric identity', () => {
  it("registers every operator metric with the job, job id, operator, uid and subtask as variables, under the metric's own name", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const out = await env
      .fromCollection([1, 2, 3, 4])
      .map((n) => n + 1)
      .uid('inc')
      .map((n) => n * 2)
      .map((n) => n - 1)
      .executeAndCollect('ids');
    expect(out).toHaveLength(4);
    const entries = [...env.metrics.entries()];
    const recordsIn = entries.filter((e) => e.name === 'numRecordsIn');
    const jobId = recordsIn[0]?.variables['job_id'];
    expect(jobId).toMatch(/^[0-9a-f]{32}$/);
    const subtask0 = recordsIn.map((e) => e.variables).filter((v) => v['subtask'] === '0');
    // Two maps without a uid share a name: the second is numbered, so their series stay apart.
    expect(subtask0.sort((a, b) => `${a['operator']}/${a['uid']}`.localeCompare(`${b['operator']}/${b['uid']}`))).toEqual([
      { job: 'ids', job_id: jobId, operator: 'Map', uid: '', subtask: '0' },
      { job: 'ids', job_id: jobId, operator: 'Map', uid: 'inc', subtask: '0' },
      { job: 'ids', job_id: jobId, operator: 'Map#2', uid: '', subtask: '0' },
      { job: 'ids', job_id: jobId, operator: 'Sink: Collect', uid: '', subtask: '0' },
    ]);
    // The readable id keeps the scope that names each operator by uid or name.
    expect(byId(entries).get('job.ids.operator.inc.1.numRecordsIn')?.variables).toEqual({ job: 'ids', job_id: jobId, operator: 'Map', uid: 'inc', subtask: '1' });
    const sum = recordsIn.filter((e) => e.variables['uid'] === 'inc').reduce((n, e) => n + (e.metric.kind === 'counter' ? e.metric.count : 0), 0);
    expect(sum).toBe(4);
  });

  it('gives each execute() its own job id, on the client and the result, and its own metrics', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const run = () => {
      const out: number[] = [];
      env.fromCollection([1, 2, 3]).map((n) => n).addSink((n) => void out.push(n));
      return env.executeAsync('twice');
    };
    const first = run();
    const firstResult = await first.result;
    const second = run();
    const secondResult = await second.result;
    expect(first.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(firstResult.jobId).toBe(first.jobId);
    expect(secondResult.jobId).toBe(second.jobId);
    expect(second.jobId).not.toBe(first.jobId);
    // Counters do not add up across runs: each result shows its own run.
    expect(firstResult.metrics['job.twice.operator.Map.0.numRecordsIn']).toBe(3);
    expect(secondResult.metrics['job.twice.operator.Map.0.numRecordsIn']).toBe(3);
    // The second run, as it ended, dropped the metrics of the first: a registry does not keep every run's.
    const mapIn = [...env.metrics.entries()].filter((e) => e.id === 'job.twice.operator.Map.0.numRecordsIn');
    expect(mapIn.map((e) => e.variables['job_id'])).toEqual([second.jobId]);
    expect(env.metrics.snapshot({ job_id: second.jobId })['job.twice.operator.Map.0.numRecordsIn']).toBe(3);
  });

  it('keeps the metrics of a run still going, and of other job names, when a run of a name ends', async () => {
    const env = StreamExecutionEnvironment.create();
    const gate = gatedSource(3);
    env.fromSource(gate.source, 'numbers').map((n) => n).addSink(() => undefined);
    const running = env.executeAsync('shared');
    env.fromCollection([1]).map((n) => n).addSink(() => undefined);
    await env.executeAsync('other').result;
    env.fromCollection([1]).map((n) => n).addSink(() => undefined);
    const again = env.executeAsync('shared');
    await again.result;
    const runs = new Set([...env.metrics.entries()].map((e) => e.variables['job_id']));
    expect(runs.has(running.jobId)).toBe(true);
    expect(runs.has(again.jobId)).toBe(true);
    expect([...env.metrics.entries()].some((e) => e.variables['job'] === 'other')).toBe(true);
    gate.openUntil(3);
    await running.result;
    // A registry shared by many runs holds the last ended run of each name and those running: 200 runs, one run's metrics.
    for (let i = 0; i < 200; i++) {
      env.fromCollection([1]).map((n) => n).addSink(() => undefined);
      await env.executeAsync('often').result;
    }
    expect(new Set([...env.metrics.entries()].filter((e) => e.variables['job'] === 'often').map((e) => e.variables['job_id'])).size).toBe(1);
  });

  it("makes a restarted job's gauges read the new attempt, not the ended one", async () => {
    const env = StreamExecutionEnvironment.create({ restartStrategy: RestartStrategies.fixedDelay(1, 0) });
    let attempts = 0;
    env
      .fromCollection([1, 2, 3])
      .map({
        open(ctx) {
          const attempt = ++attempts;
          // Each attempt's instance reports itself: a gauge kept from the first attempt would still say 1.
          ctx.metrics.gauge('attempt', () => attempt);
        },
        map(n: number) {
          if (attempts === 1) throw new Error('first attempt fails');
          return n;
        },
      })
      .addSink(() => undefined);
    const result = await env.execute('regauge');
    expect(result.restarts).toBe(1);
    expect(result.metrics['job.regauge.operator.Map.0.attempt']).toBe(2);
  });

  it("a gauge that throws (it reads what the operator's close() released) reads NaN, and the job still finishes", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env
      .fromCollection([1, 2, 3])
      .map({
        pool: undefined as Set<number> | undefined,
        open(ctx) {
          this.pool = new Set();
          ctx.metrics.gauge('poolSize', () => (this.pool as Set<number>).size);
        },
        map(n: number) {
          return n;
        },
        close() {
          this.pool = undefined;
        },
      } as MapFunction<number, number> & { pool: Set<number> | undefined })
      .addSink(() => undefined);
    // Before, reading the gauge for the result threw: execute() rejected with a bare TypeError.
    const result = await env.execute('gauges');
    expect(result.status).toBe('finished');
    expect(result.metrics['job.gauges.operator.Map.0.poolSize']).toBeNaN();
  });

  it('a gauge that returns a bigint reads as a number, one that returns no number as NaN', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    env
      .fromCollection([1])
      .map<number>({
        open(ctx) {
          // Typed as numbers by the API; JavaScript callers (and `as` casts) can return anything.
          ctx.metrics.gauge('offset', () => 123n as unknown as number);
          ctx.metrics.gauge('label', () => 'seven' as unknown as number);
        },
        map: (n: number) => n,
      })
      .addSink(() => undefined);
    const result = await env.execute('odd gauges');
    expect(result.metrics['job.odd gauges.operator.Map.0.offset']).toBe(123);
    expect(result.metrics['job.odd gauges.operator.Map.0.label']).toBeNaN();
    // Every exporter and the job view serialize it: a bigint there threw (JSON.stringify, arithmetic with numbers).
    expect(() => JSON.stringify(result.metrics)).not.toThrow();
  });

  it('numbers operators that share a name past a number another operator has as its own name', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const out = await env
      .fromCollection([1, 2, 3, 4, 5, 6])
      .map((n) => n)
      .name('step')
      .filter((n) => n % 2 === 0)
      .name('step')
      .filter((n) => n > 2)
      .name('step#2')
      .executeAndCollect('names');
    expect(out).toEqual([4, 6]);
    const recordsIn = (operator: string) => env.metrics.snapshot()[`job.names.operator.${operator}.0.numRecordsIn`];
    // Before, the second 'step' became 'step#2' too, and the two shared one counter (9 in).
    expect([recordsIn('step'), recordsIn('step#3'), recordsIn('step#2')]).toEqual([6, 6, 3]);
  });

  it('empties the input queue gauge of a cancelled job: nothing is queued once it stopped', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', chunkSize: 1, channelCapacity: 4 });
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const gate = gatedSource(1_000_000);
    env
      .fromSource(gate.source, 'numbers')
      .rebalance()
      .sinkTo({ createWriter: () => ({ write: () => blocked }) })
      .name('slow');
    const job = env.executeAsync('queued');
    gate.openUntil(1_000);
    const queued = () => env.metrics.snapshot()['job.queued.operator.slow.0.inputQueueRecords'] as number | undefined;
    await until(() => (queued() ?? 0) > 0, 'records queued before the slow map');
    job.cancel();
    release();
    expect((await job.result).status).toBe('cancelled');
    // Before, it kept reading what was queued when the job stopped, for as long as the registry lived.
    expect(queued()).toBe(0);
  });

  it('registers checkpoint metrics, with the job variables, only when checkpointing is on', async () => {
    const plain = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    plain.fromCollection([1]).addSink(() => undefined);
    await plain.execute('plain');
    expect([...plain.metrics.entries()].filter((e) => e.name.toLowerCase().includes('checkpoint'))).toEqual([]);

    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' }).enableCheckpointing(1000, { storage: mkdtempSync(join(tmpdir(), 'ckpt-')) });
    env.fromCollection([1]).addSink(() => undefined);
    const result = await env.execute('checked');
    const checkpoints = [...env.metrics.entries()].filter((e) => e.id.startsWith('job.checked.checkpoints.'));
    expect(checkpoints.map((e) => [e.name, e.metric.kind])).toEqual([
      ['numCompletedCheckpoints', 'counter'],
      ['checkpointDurationMs', 'histogram'],
      ['checkpointAlignmentMs', 'histogram'],
      ['checkpointSizeBytes', 'histogram'],
    ]);
    expect(checkpoints.every((e) => JSON.stringify(e.variables) === JSON.stringify({ job: 'checked', job_id: result.jobId }))).toBe(true);
    const size = checkpoints[3]?.metric;
    expect(size?.kind === 'histogram' && size.bounds).toEqual(HISTOGRAM_BUCKETS.bytes);
  });

  it('puts the groups a user adds into the metric name, and keeps the operator variables', () => {
    const registry = new MetricRegistry();
    const operator = registry.scopedGroup(['job', 'j', 'operator', 'op', '0'], { job: 'j', subtask: '0' });
    operator.addGroup('http').counter('calls').inc(2);
    registry.group('app').gauge('ready', () => 1);
    expect([...registry.entries()].map(({ id, name, variables }) => ({ id, name, variables }))).toEqual([
      { id: 'job.j.operator.op.0.http.calls', name: 'http.calls', variables: { job: 'j', subtask: '0' } },
      { id: 'app.ready', name: 'app.ready', variables: {} },
    ]);
    expect(registry.snapshot()).toEqual({ 'job.j.operator.op.0.http.calls': 2, 'app.ready': 1 });
    expect(registry.snapshot({ job: 'j' })).toEqual({ 'job.j.operator.op.0.http.calls': 2 });
    // One name, one kind: the same group hands out the same metric.
    expect(operator.addGroup('http').counter('calls').count).toBe(2);
    expect(() => operator.addGroup('http').gauge('calls', () => 0)).toThrow("Metric 'job.j.operator.op.0.http.calls' is already registered as a counter, not a gauge");
  });
});

describe('histogram totals', () => {
  it('counts every update into cumulative buckets with their sum, beyond the window', () => {
    const h = new Histogram({ windowSize: 2, buckets: [10, 100] });
    for (const v of [5, 10, 11, 500, 100]) h.update(v);
    expect(h.totals()).toEqual({
      count: 5,
      sum: 626,
      buckets: [
        { le: 10, count: 2 },
        { le: 100, count: 4 },
        { le: Number.POSITIVE_INFINITY, count: 5 },
      ],
    });
    expect(h.snapshot().count).toBe(5);
  });

  it('defaults to latency buckets from 1 ms to 60 s and rejects bounds that do not increase', () => {
    expect(new Histogram().bounds).toEqual(HISTOGRAM_BUCKETS.latencyMs);
    expect(new Histogram(8).bounds[0]).toBe(1);
    expect(HISTOGRAM_BUCKETS.latencyMs.at(-1)).toBe(60_000);
    expect(() => new Histogram({ buckets: [1, 1] })).toThrow('Histogram buckets must be finite and strictly increasing, got [1, 1]');
    expect(() => new Histogram({ buckets: [] })).toThrow(RangeError);
  });
});

describe('describeMetric', () => {
  it('publishes known names with base units and scales milliseconds to seconds; other names in snake_case', () => {
    const counter = new MetricRegistry().group().counter('x');
    expect(describeMetric('numRecordsIn', counter)).toMatchObject({ name: 'operator.records_in', unit: '{record}', scale: 1 });
    expect(describeMetric('callLatencyMs', new Histogram())).toMatchObject({ name: 'async.call.duration', unit: 's', scale: 0.001 });
    expect(describeMetric('checkpointSizeBytes', new Histogram())).toMatchObject({ name: 'checkpoint.size', unit: 'By', scale: 1 });
    expect(describeMetric('http.callCount', counter)).toEqual({ name: 'http.call_count', unit: '', scale: 1, help: "Tributary counter 'http.callCount'." });
    expect(describeMetric('toString', counter)).toMatchObject({ name: 'to_string', unit: '', scale: 1 });
  });

  it('splits an acronym from the word after it, as Prometheus and OpenTelemetry names are spelled', () => {
    const counter = new MetricRegistry().group().counter('x');
    const names = ['HTTPRequests', 'parseJSON', 'apiURLCount', 'p95LatencyMs', 'IO', 'myRetries'].map((name) => describeMetric(name, counter).name);
    expect(names).toEqual(['http_requests', 'parse_json', 'api_url_count', 'p95_latency_ms', 'io', 'my_retries']);
  });
});
