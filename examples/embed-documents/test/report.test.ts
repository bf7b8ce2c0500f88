import { describe, expect, it } from 'vitest';
import { MetricRegistry, type JobExecutionResult } from '@tributary/core';
import { batchStats } from '../src/batchStats.js';
import type { PlantedPair } from '../src/corpus.js';
import type { DuplicatePair } from '../src/BucketMatcher.js';
import { compareWithPlanted, describeDifference, formatReport } from '../src/report.js';

const pair = (a: string, b: string, cosine = 0.9): DuplicatePair => ({ a, b, cosine, textA: `text of ${a}`, textB: `text of ${b}` });
const planted = (original: string, duplicate: string): PlantedPair => ({ original, duplicate, edit: 'substitute' });

describe('compareWithPlanted', () => {
  it('counts planted pairs found in either order, the ones missed and the ones not planted', () => {
    const c = compareWithPlanted([pair('d1', 'd2'), pair('d3', 'd9')], [planted('d2', 'd1'), planted('d4', 'd5')]);
    expect(c).toMatchObject({ planted: 2, found: 2, matched: 1, recall: 0.5, precision: 0.5 });
    expect(c.missed).toEqual([planted('d4', 'd5')]);
    expect(c.unplanted).toEqual([pair('d3', 'd9')]);
    expect(compareWithPlanted([], [])).toMatchObject({ recall: 1, precision: 1 });
  });
});

describe('describeDifference', () => {
  it('shows the changed words with a few words of context', () => {
    expect(describeDifference('Amara from Lyon painted a dusty lantern near the harbour on Monday.', 'Amara from Lyon painted a dusty windmill near the harbour on Monday.')).toBe(
      '… painted a dusty [lantern → windmill] near the harbour …',
    );
    expect(describeDifference('Experts salvaged 12 parts.', 'Experts carefully salvaged 12 parts.')).toBe('Experts [∅ → carefully] salvaged 12 parts.');
    expect(describeDifference('Experts salvaged 12 parts.', 'Experts 12 parts.')).toBe('Experts [salvaged → ∅] 12 parts.');
    expect(describeDifference('Where is it, asked Rosa?', 'WHERE IS IT - ASKED ROSA!')).toBe('(same words; case and punctuation differ)');
  });
});

describe('formatReport', () => {
  it('prints pairs, recall and precision, throughput and batch statistics from the job result', () => {
    const registry = new MetricRegistry();
    const jobId = '0123456789abcdef0123456789abcdef';
    const embed = registry.scopedGroup(['job', 'embed-documents', 'operator', 'embed', '0'], { job: 'embed-documents', job_id: jobId, operator: 'embed', subtask: '0' });
    embed.counter('numRecordsOut').inc(1000);
    embed.counter('batches').inc(16);
    embed.counter('records').inc(900);
    embed.counter('cacheHits').inc(80);
    embed.counter('dedupedRecords').inc(20);
    // 16 calls: the 8th smallest latency is the p50, the largest the p95.
    for (const ms of [1, 1, 1, 1, 1, 1, 1, 2.5, 3, 3, 3, 3, 3, 3, 3, 8]) embed.histogram('callLatencyMs').update(ms);
    for (const ms of [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 4]) embed.histogram('queueWaitMs').update(ms);
    const metrics = registry.snapshot();
    const job = { jobName: 'embed-documents', jobId, status: 'finished', runtimeMs: 500, operators: [], metrics, restarts: 0, lastFailure: undefined, restoredFrom: undefined, unfinishedCloses: [] } satisfies JobExecutionResult;
    const report = formatReport({
      documents: 1000,
      source: 'generated corpus',
      embedder: 'a model',
      parallelism: 2,
      threshold: 0.8,
      lsh: 'LSH',
      dedupe: true,
      job,
      stats: batchStats(registry.entries(), { job_id: jobId, operator: 'embed' }),
      pairs: [pair('d1', 'd2', 0.95), pair('d3', 'd4', 0.85)],
      outputFile: 'out/part-0.jsonl',
      comparison: compareWithPlanted([pair('d1', 'd2'), pair('d3', 'd4')], [planted('d1', 'd2'), planted('d3', 'd4'), planted('d5', 'd6')]),
    });
    expect(report).toContain('  parallelism  2, in 2 task slots (worker threads)\n');
    expect(report).toContain('  pairs found  2, written to out/part-0.jsonl\n');
    expect(report).toContain('  vs planted   2 of 3 planted pairs found (recall 66.7%), 0 not planted (precision 100.0%)\n');
    expect(report).toContain('  throughput   1,000 docs in 0.50 s: 2,000 docs/s\n');
    expect(report).toContain('  repeats      100 docs not embedded again (80 from the cache, 20 sharing a call): 900 embedded\n');
    expect(report).toContain('  batches      16 calls, mean size 56.3; call latency p50 2.5 ms, p95 8.0 ms; queue wait p95 4.0 ms\n');
    expect(report).toContain('  0.850  d3 / d4');
    expect(report.indexOf('0.850')).toBeLessThan(report.indexOf('0.950'));
    expect(report).toContain('Planted pairs missed: d5 / d6 (substitute)');
  });
});

describe('batchStats', () => {
  it("sums counters and gauges over the operator's subtasks and merges histograms", () => {
    const registry = new MetricRegistry();
    const group = (job: string, operator: string, subtask: number) =>
      registry.scopedGroup(['job', job, 'operator', operator, String(subtask)], { job, operator, subtask: String(subtask) });
    const [s0, s1] = [group('j', 'embed', 0), group('j', 'embed', 1)];
    s0.counter('numRecordsOut').inc(10);
    s1.counter('numRecordsOut').inc(5);
    s0.counter('batches').inc(2);
    s1.counter('batches').inc(1);
    s0.counter('records').inc(10);
    s1.counter('records').inc(8);
    s1.gauge('inFlightBatches', () => 2);
    for (const ms of [8, 12]) s0.histogram('callLatencyMs').update(ms);
    s1.histogram('callLatencyMs').update(40);
    // Another operator's and another job's metrics do not count.
    group('j', 'embedder', 0).counter('numRecordsOut').inc(1000);
    group('other', 'embed', 0).counter('numRecordsOut').inc(1000);
    const stats = batchStats(registry.entries(), { job: 'j', operator: 'embed' });
    expect(stats).toMatchObject({ recordsOut: 15, batches: 3, recordsSent: 18, meanBatchSize: 6, inFlightBatches: 2 });
    expect(stats.callLatencyMs).toEqual({ count: 3, min: 8, max: 40, mean: 20, p50: 40, p95: 40, p99: 40 });
    expect(stats.queueWaitMs.count).toBe(0);
  });
});
