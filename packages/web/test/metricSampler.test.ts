import { Counter, MetricRegistry, type JobGraphView } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { MetricSampler } from '../src/MetricSampler.js';

const JOB_ID = 'a'.repeat(32);

/** Two operators named alike without a uid (the runtime names the second `map#2` in its metrics) and one with a uid. */
const GRAPH: JobGraphView = {
  operators: [
    { id: 'map-1', name: 'map', kind: 'operator', parallelism: 2, vertex: 'map-1' },
    { id: 'map-2', name: 'map', kind: 'operator', parallelism: 1, vertex: 'map-2' },
    { id: 'embed', name: 'embed', uid: 'embed', kind: 'operator', parallelism: 1, vertex: 'embed' },
  ],
  edges: [],
  vertices: [],
};

function group(registry: MetricRegistry, operator: string, subtask: number, { uid = '', jobId = JOB_ID } = {}) {
  return registry.scopedGroup(['job', 'j', 'operator', operator, String(subtask)], { job: 'j', job_id: jobId, operator, uid, subtask: String(subtask) });
}

/** A counter as the main thread holds a slot's: its count as of the slot's last sample, once a second. */
class SlotCounter extends Counter {
  at: number | undefined = undefined;
  override get sampledAt(): number | undefined {
    return this.at;
  }
}

/** A slot's `numRecordsIn` of map-1, subtask 0, and a sampler over it on the clock `now`. */
function slotCounterSampler(now: () => number) {
  const registry = new MetricRegistry();
  const variables = { job: 'j', job_id: JOB_ID, operator: 'map', uid: '', subtask: '0' };
  const records = registry.register({ id: 'job.j.operator.map.0.numRecordsIn', name: 'numRecordsIn', variables, create: () => new SlotCounter() }, 'counter');
  return { records, sampler: new MetricSampler(registry, GRAPH, JOB_ID, now) };
}

describe('MetricSampler', () => {
  it("reads one job's metrics per operator id and subtask, telling apart operators of one name as the runtime does", () => {
    const registry = new MetricRegistry();
    group(registry, 'map', 0).counter('numRecordsIn').inc(3);
    group(registry, 'map', 1).counter('numRecordsIn').inc(4);
    group(registry, 'map#2', 0).counter('numRecordsIn').inc(5);
    group(registry, 'embed', 0, { uid: 'embed' }).gauge('inFlightBatches', () => 2);
    group(registry, 'map', 0, { jobId: 'b'.repeat(32) }).counter('numRecordsIn').inc(99);
    const view = new MetricSampler(registry, GRAPH, JOB_ID, () => 1000).sample();
    expect(view.operators).toEqual({
      'map-1': [
        { subtask: 0, values: { numRecordsIn: 3 }, rates: { numRecordsInPerSecond: null } },
        { subtask: 1, values: { numRecordsIn: 4 }, rates: { numRecordsInPerSecond: null } },
      ],
      'map-2': [{ subtask: 0, values: { numRecordsIn: 5 }, rates: { numRecordsInPerSecond: null } }],
      embed: [{ subtask: 0, values: { inFlightBatches: 2 }, rates: {} }],
    });
  });

  it("tells apart an operator named like another's numbered twin, as the runtime does (step, step#2, then step#3 for the second step)", () => {
    const graph: JobGraphView = {
      operators: ['a', 'b', 'c'].map((id, i) => ({ id, name: i === 1 ? 'step#2' : 'step', kind: 'operator' as const, parallelism: 1, vertex: id })),
      edges: [],
      vertices: [],
    };
    const registry = new MetricRegistry();
    group(registry, 'step', 0).counter('numRecordsIn').inc(1000);
    group(registry, 'step#2', 0).counter('numRecordsIn').inc(1000);
    group(registry, 'step#3', 0).counter('numRecordsIn').inc(500);
    const { operators } = new MetricSampler(registry, graph, JOB_ID, () => 0).sample();
    expect(['a', 'b', 'c'].map((id) => operators[id]?.[0]?.values.numRecordsIn)).toEqual([1000, 1000, 500]);
  });

  it('turns counters into per-second rates over the span since the previous sample (busy time as ms per second)', () => {
    const registry = new MetricRegistry();
    const records = group(registry, 'map', 0).counter('numRecordsIn');
    const busy = group(registry, 'map', 0).counter('busyTimeMs');
    let now = 0;
    const sampler = new MetricSampler(registry, GRAPH, JOB_ID, () => now);
    sampler.sample();
    records.inc(500);
    busy.inc(1000);
    now = 2000;
    expect(sampler.sample().operators['map-1']?.[0]?.rates).toEqual({ numRecordsInPerSecond: 250, busyTimeMsPerSecond: 500 });
  });

  it("rates a task slot's counter over the slot's samples, whenever the sampler reads it: a steady rate reads steady", () => {
    let now = 0;
    const { records, sampler } = slotCounterSampler(() => now);
    const rates: (number | null | undefined)[] = [];
    // 640 records a second, reported at each whole second; the sampler reads at its own pace, out of step.
    for (const read of [300, 900, 1_500, 2_100, 2_700, 3_300, 3_900]) {
      now = read;
      const slotSample = Math.floor(read / 1_000) * 1_000;
      records.count = (640 * slotSample) / 1_000;
      records.at = slotSample;
      rates.push(sampler.sample().operators['map-1']?.[0]?.rates.numRecordsInPerSecond);
    }
    expect(rates).toEqual([null, null, 640, 640, 640, 640, 640]);
  });

  it("marks a task slot silent for over 3 s as such, with unknown rates, and rates a slot's final counts down to 0", () => {
    let now = 0;
    const { records, sampler } = slotCounterSampler(() => now);
    const read = (at: number, count: number | undefined, sampledAt: number | undefined) => {
      now = at;
      if (count !== undefined) records.count = count;
      records.at = sampledAt;
      return sampler.sample().operators['map-1']?.[0];
    };
    read(1_000, 100, 1_000);
    expect(read(2_000, 200, 2_000)).toMatchObject({ rates: { numRecordsInPerSecond: 100 } });
    // The slot's thread is stuck: no report since 2,000. Its last rate stands for 3 s, then it is unknown, and said so.
    expect(read(4_900, undefined, 2_000)).toEqual({ subtask: 0, values: { numRecordsIn: 200 }, rates: { numRecordsInPerSecond: 100 } });
    expect(read(5_500, undefined, 2_000)).toEqual({ subtask: 0, values: { numRecordsIn: 200 }, rates: { numRecordsInPerSecond: null }, silentForMs: 3_500 });
    // It reports again: the rate spans the silence.
    expect(read(7_000, 700, 7_000)).toEqual({ subtask: 0, values: { numRecordsIn: 700 }, rates: { numRecordsInPerSecond: 100 } });
    // Every task of the slot ended: its count is final (no sample time), and the rate falls to 0 instead of standing.
    read(8_000, 800, undefined);
    expect(read(9_000, undefined, undefined)?.rates.numRecordsInPerSecond).toBe(0);
    expect(read(60_000, undefined, undefined)).toEqual({ subtask: 0, values: { numRecordsIn: 800 }, rates: { numRecordsInPerSecond: 0 } });
  });

  it("keeps a finished job's final counts with every rate 0, however late the page asks", () => {
    const registry = new MetricRegistry();
    const records = group(registry, 'map', 0).counter('numRecordsIn');
    let now = 0;
    const sampler = new MetricSampler(registry, GRAPH, JOB_ID, () => now);
    sampler.sample();
    records.inc(500);
    now = 1_000;
    expect(sampler.sample().operators['map-1']?.[0]?.rates).toEqual({ numRecordsInPerSecond: 500 });
    records.inc(100);
    now = 1_200;
    expect(sampler.end().operators['map-1']?.[0]).toEqual({ subtask: 0, values: { numRecordsIn: 600 }, rates: { numRecordsInPerSecond: 0 } });
    now = 60_000;
    expect(sampler.sample().operators['map-1']?.[0]).toEqual({ subtask: 0, values: { numRecordsIn: 600 }, rates: { numRecordsInPerSecond: 0 } });
  });

  it('shares a sample taken less than half a second ago, unless asked for a fresh one', () => {
    const registry = new MetricRegistry();
    const records = group(registry, 'map', 0).counter('numRecordsIn');
    let now = 0;
    const sampler = new MetricSampler(registry, GRAPH, JOB_ID, () => now);
    sampler.sample();
    records.inc(10);
    now = 100;
    expect(sampler.sample().operators['map-1']?.[0]?.values.numRecordsIn).toBe(0);
    expect(sampler.sample(true).operators['map-1']?.[0]).toEqual({ subtask: 0, values: { numRecordsIn: 10 }, rates: { numRecordsInPerSecond: 100 } });
  });

  it('serves histograms with their window statistics and cumulative buckets (+Infinity as null), and a throwing gauge as NaN', () => {
    const registry = new MetricRegistry();
    const sizes = group(registry, 'embed', 0, { uid: 'embed' }).histogram('batchSize', { buckets: [1, 4] });
    for (const n of [1, 3, 3, 9]) sizes.update(n);
    group(registry, 'embed', 0, { uid: 'embed' }).gauge('bufferedRecords', () => {
      throw new Error('closed');
    });
    const values = new MetricSampler(registry, GRAPH, JOB_ID, () => 0).sample().operators.embed?.[0]?.values;
    expect(values?.batchSize).toMatchObject({ count: 4, sum: 16, max: 9, buckets: [{ le: 1, count: 1 }, { le: 4, count: 3 }, { le: null, count: 4 }] });
    expect(values?.bufferedRecords).toBeNaN();
  });
});
