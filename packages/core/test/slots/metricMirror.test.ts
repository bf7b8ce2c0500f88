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
    mirror.apply(sampleMetrics(slot));
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
    mirror.apply(sampleMetrics(slot));
    expect(main.snapshot()).toEqual(slot.snapshot());
    expect([...main.entries()]).toHaveLength(3);
  });
});
