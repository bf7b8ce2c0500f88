import { describe, expect, it } from 'vitest';
import type { JobExecutionResult } from '@tributary/core';
import { batchStats } from '../src/batchStats.js';
import type { PlantedPair } from '../src/corpus.js';
import type { DuplicatePair } from '../src/nearDuplicates.js';
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
    const metrics = {
      'job.embed-documents.operator.embed.0.numRecordsOut': 1000,
      'job.embed-documents.operator.embed.0.batches': 16,
      'job.embed-documents.operator.embed.0.records': 1000,
      'job.embed-documents.operator.embed.0.callLatencyMs': { count: 16, min: 1, max: 9, mean: 3, p50: 2.5, p95: 8, p99: 9 },
      'job.embed-documents.operator.embed.0.queueWaitMs': { count: 16, min: 0, max: 5, mean: 1, p50: 1, p95: 4, p99: 5 },
    };
    const job = { jobName: 'embed-documents', status: 'finished', runtimeMs: 500, operators: [], metrics, restarts: 0, lastFailure: undefined, restoredFrom: undefined, unfinishedCloses: [] } satisfies JobExecutionResult;
    const report = formatReport({
      documents: 1000,
      source: 'generated corpus',
      embedder: 'a model',
      threshold: 0.8,
      lsh: 'LSH',
      job,
      stats: batchStats(metrics, 'embed-documents', 'embed'),
      pairs: [pair('d1', 'd2', 0.95), pair('d3', 'd4', 0.85)],
      outputFile: 'out/part-0.jsonl',
      comparison: compareWithPlanted([pair('d1', 'd2'), pair('d3', 'd4')], [planted('d1', 'd2'), planted('d3', 'd4'), planted('d5', 'd6')]),
    });
    expect(report).toContain('  pairs found  2, written to out/part-0.jsonl\n');
    expect(report).toContain('  vs planted   2 of 3 planted pairs found (recall 66.7%), 0 not planted (precision 100.0%)\n');
    expect(report).toContain('  throughput   1,000 docs in 0.50 s: 2,000 docs/s\n');
    expect(report).toContain('  batches      16 calls, mean size 62.5; call latency p50 2.5 ms, p95 8.0 ms; queue wait p95 4.0 ms\n');
    expect(report).toContain('  0.850  d3 / d4');
    expect(report.indexOf('0.850')).toBeLessThan(report.indexOf('0.950'));
    expect(report).toContain('Planted pairs missed: d5 / d6 (substitute)');
  });
});

describe('batchStats', () => {
  it('sums counters and gauges over subtasks and merges histograms', () => {
    const h = (count: number, mean: number, p95: number) => ({ count, min: 1, max: p95 + 1, mean, p50: mean, p95, p99: p95 + 1 });
    const stats = batchStats(
      {
        'job.j.operator.embed.0.numRecordsOut': 10,
        'job.j.operator.embed.1.numRecordsOut': 5,
        'job.j.operator.embed.0.batches': 2,
        'job.j.operator.embed.1.batches': 1,
        'job.j.operator.embed.0.records': 10,
        'job.j.operator.embed.1.records': 8,
        'job.j.operator.embed.1.inFlightBatches': 2,
        'job.j.operator.embed.0.callLatencyMs': h(2, 10, 12),
        'job.j.operator.embed.1.callLatencyMs': h(1, 40, 41),
        'job.j.operator.embedder.0.numRecordsOut': 1000,
        'job.other.operator.embed.0.numRecordsOut': 1000,
      },
      'j',
      'embed',
    );
    expect(stats).toMatchObject({ recordsOut: 15, batches: 3, recordsSent: 18, meanBatchSize: 6, inFlightBatches: 2 });
    expect(stats.callLatencyMs).toEqual({ count: 3, min: 1, max: 42, mean: 20, p50: 40, p95: 41, p99: 42 });
    expect(stats.queueWaitMs.count).toBe(0);
  });
});
