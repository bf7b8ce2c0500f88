import { describe, expect, it, vi } from 'vitest';
import { MetricRegistry } from '@tributary/core';
import { Progress } from '../src/progress.js';

/** A registry holding what the async operator registers, for two subtasks of operator 'embed' in job 'j'. */
function operatorMetrics() {
  const registry = new MetricRegistry();
  const subtasks = [0, 1].map((i) => {
    const group = registry.scopedGroup(['job', 'j', 'operator', 'embed', String(i)], { job: 'j', operator: 'embed', subtask: String(i) });
    let inFlight = i + 1;
    group.gauge('inFlightBatches', () => inFlight);
    return {
      out: group.counter('numRecordsOut'),
      batches: group.counter('batches'),
      records: group.counter('records'),
      latency: group.histogram('callLatencyMs'),
      setInFlight: (n: number) => (inFlight = n),
    };
  });
  // Another operator's metrics must not count.
  registry.scopedGroup(['job', 'j', 'operator', 'parse', '0'], { job: 'j', operator: 'parse', subtask: '0' }).counter('numRecordsOut').inc(999);
  return { registry, subtasks };
}

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } };
}

describe('Progress', () => {
  it('rewrites one line on a terminal: docs done, docs/s since the last update, mean batch, in flight, p95 call', () => {
    const { registry, subtasks } = operatorMetrics();
    let now = 0;
    const out = stream(true);
    const progress = new Progress({ registry, job: 'j', operator: 'embed', stream: out.stream, total: 5000, now: () => now });

    subtasks[0]!.out.inc(1000);
    subtasks[1]!.out.inc(500);
    subtasks[0]!.batches.inc(20);
    subtasks[0]!.records.inc(1280);
    subtasks[1]!.batches.inc(5);
    subtasks[1]!.records.inc(220);
    for (let ms = 1; ms <= 100; ms++) subtasks[0]!.latency.update(ms);
    now = 500;
    progress.tick();
    expect(out.writes).toEqual(['\r\x1b[2Kembedded 1,500/5,000 docs | 3,000 docs/s | mean batch 60.0 | in flight 3 | p95 call 95.0 ms']);

    subtasks[1]!.out.inc(250);
    subtasks[0]!.setInFlight(0);
    now = 750;
    progress.tick();
    expect(out.writes[1]).toBe('\r\x1b[2Kembedded 1,750/5,000 docs | 1,000 docs/s | mean batch 60.0 | in flight 2 | p95 call 95.0 ms');

    progress.stop();
    expect(out.writes[2]).toBe('\r\x1b[2K'); // the report starts on a clean line
  });

  it('writes plain lines with the elapsed time when not on a terminal', () => {
    const { registry, subtasks } = operatorMetrics();
    let now = 100;
    const out = stream(false);
    const progress = new Progress({ registry, job: 'j', operator: 'embed', stream: out.stream, now: () => now });
    subtasks[0]!.out.inc(64);
    subtasks[0]!.batches.inc(1);
    subtasks[0]!.records.inc(64);
    subtasks[0]!.latency.update(4.25);
    now = 1100;
    progress.tick();
    progress.stop();
    expect(out.writes).toEqual(['[1.0s] embedded 64 docs | 64 docs/s | mean batch 64.0 | in flight 3 | p95 call 4.3 ms\n']);
  });

  it('ticks every interval until stopped', () => {
    vi.useFakeTimers();
    try {
      const { registry } = operatorMetrics();
      const out = stream(false);
      const progress = new Progress({ registry, job: 'j', operator: 'embed', stream: out.stream, intervalMs: 100, now: () => 0 }).start();
      vi.advanceTimersByTime(350);
      expect(out.writes).toHaveLength(3);
      progress.stop();
      vi.advanceTimersByTime(1000);
      expect(out.writes).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
