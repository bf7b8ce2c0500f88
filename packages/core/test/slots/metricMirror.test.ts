import { describe, expect, it } from 'vitest';
import { HISTOGRAM_BUCKETS, MetricRegistry } from '../../src/index.js';
import { MetricMirror, sampleMetrics } from '../../src/runtime/slots/metricMirror.js';

describe("a slot's metrics in the main thread's registry", () => {
  it('shows counters, gauges and histograms with the ids, names, variables and values they have in the slot', () => {
    const slot = new MetricRegistry();
    const group = slot.scopedGroup(['job', 'j', 'operator', 'calls', '1'], { job: 'j', job_id: 'x', operator: 'calls', uid: '', subtask: '1' });
    group.counter('numRecordsIn').inc(7);
    let queued = 3;
    group.gauge('inputQueueRecords', () => queued);
    const latency = group.addGroup('http').histogram('latencyMs', { buckets: HISTOGRAM_BUCKETS.latencyMs });
    for (const ms of [1, 4, 40, 400]) latency.update(ms);

    const main = new MetricRegistry();
    const mirror = new MetricMirror(main);
    mirror.apply(sampleMetrics(slot), 1_000);
    expect(main.snapshot()).toEqual(slot.snapshot());
    expect([...main.entries()].map(({ id, name, variables }) => ({ id, name, variables }))).toEqual(
      [...slot.entries()].map(({ id, name, variables }) => ({ id, name, variables })),
    );
    const mirrored = [...main.entries()].find((e) => e.name === 'http.latencyMs')?.metric;
    expect(mirrored?.kind === 'histogram' && mirrored.totals()).toEqual(latency.totals());

    // Later samples update the same metrics.
    group.counter('numRecordsIn').inc(5);
    queued = 0;
    latency.update(4000);
    mirror.apply(sampleMetrics(slot), 2_000);
    expect(main.snapshot()).toEqual(slot.snapshot());
    expect([...main.entries()]).toHaveLength(3);
    // A mirrored counter tells when the slot took its count, so a rate over it divides by the slot's interval.
    const records = [...main.entries()].find((e) => e.name === 'numRecordsIn')?.metric;
    expect(records?.kind === 'counter' && records.sampledAt).toBe(2_000);
    expect(group.counter('numRecordsIn').sampledAt).toBeUndefined();
    // The slot's last status (every task ended): the count is final, current from then on, and a rate over it falls to 0.
    mirror.apply(sampleMetrics(slot), 3_000, true);
    expect(records?.kind === 'counter' && records.sampledAt).toBeUndefined();
  });

  it("adds a restarted attempt's counters and histogram totals to the earlier attempts', as one thread counts over restarts", () => {
    const attemptSlot = (records: number, latencies: number[]) => {
      const slot = new MetricRegistry();
      const group = slot.scopedGroup(['job', 'j', 'operator', 'calls', '0'], { job: 'j', job_id: 'x', operator: 'calls', uid: '', subtask: '0' });
      group.counter('numRecordsIn').inc(records);
      const latency = group.histogram('latencyMs', { buckets: [10, 100] });
      for (const ms of latencies) latency.update(ms);
      return slot;
    };
    const main = new MetricRegistry();
    new MetricMirror(main).apply(sampleMetrics(attemptSlot(7, [5, 50])), 1_000);
    // A restart: a new attempt's slot counts from zero, reported through a new mirror.
    const second = new MetricMirror(main);
    second.apply(sampleMetrics(attemptSlot(3, [500])), 2_000);
    second.apply(sampleMetrics(attemptSlot(4, [500, 5])), 3_000);
    const snapshot = main.snapshot();
    expect(snapshot['job.j.operator.calls.0.numRecordsIn']).toBe(11);
    const histogram = [...main.entries()].find((e) => e.name === 'latencyMs')?.metric;
    expect(histogram?.kind === 'histogram' && histogram.totals()).toEqual({
      count: 4,
      sum: 5 + 50 + 500 + 5,
      buckets: [
        { le: 10, count: 2 },
        { le: 100, count: 3 },
        { le: Number.POSITIVE_INFINITY, count: 4 },
      ],
    });
    // The window statistics are the latest attempt's; the count is every attempt's.
    expect(histogram?.kind === 'histogram' && histogram.snapshot()).toMatchObject({ count: 4, min: 5, max: 500 });
  });
});
