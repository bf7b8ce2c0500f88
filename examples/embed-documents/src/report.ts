import type { JobExecutionResult } from '@tributary/core';
import type { BatchStats } from './batchStats.js';
import type { PlantedPair } from './corpus.js';
import type { DuplicatePair } from './BucketMatcher.js';

/** How the pairs found compare with the pairs planted in a generated corpus. */
export interface PlantedComparison {
  readonly planted: number;
  readonly found: number;
  /** Planted pairs the job reported. */
  readonly matched: number;
  readonly missed: readonly PlantedPair[];
  /** Reported pairs that were not planted. */
  readonly unplanted: readonly DuplicatePair[];
  readonly recall: number;
  readonly precision: number;
}

export function compareWithPlanted(pairs: readonly DuplicatePair[], planted: readonly PlantedPair[]): PlantedComparison {
  const key = (x: string, y: string) => (x < y ? `${x} ${y}` : `${y} ${x}`);
  const plantedKeys = new Set(planted.map((p) => key(p.original, p.duplicate)));
  const foundKeys = new Set(pairs.map((p) => key(p.a, p.b)));
  const matched = [...foundKeys].filter((k) => plantedKeys.has(k)).length;
  return {
    planted: plantedKeys.size,
    found: foundKeys.size,
    matched,
    missed: planted.filter((p) => !foundKeys.has(key(p.original, p.duplicate))),
    unplanted: pairs.filter((p) => !plantedKeys.has(key(p.a, p.b))),
    recall: plantedKeys.size === 0 ? 1 : matched / plantedKeys.size,
    precision: foundKeys.size === 0 ? 1 : matched / foundKeys.size,
  };
}

export interface ReportInput {
  readonly documents: number;
  readonly source: string;
  readonly embedder: string;
  /** Subtasks of the embedding and matching operators. */
  readonly parallelism: number;
  readonly threshold: number;
  readonly lsh: string;
  /** Whether the job embedded each distinct text once (`--no-dedupe` turns it off). */
  readonly dedupe: boolean;
  readonly job: JobExecutionResult;
  readonly stats: BatchStats;
  readonly pairs: readonly DuplicatePair[];
  readonly outputFile: string;
  readonly comparison: PlantedComparison | undefined;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** The report printed when the job is done: a few lines a person reads. */
export function formatReport(input: ReportInput): string {
  const { job, stats, comparison, pairs } = input;
  const seconds = job.runtimeMs / 1000;
  const lines = [
    `Near-duplicates among ${integer.format(input.documents)} documents (${input.source})`,
    `  embedder     ${input.embedder}`,
    `  parallelism  ${input.parallelism === 1 ? '1, on the main thread' : `${input.parallelism}, in ${input.parallelism} task slots (worker threads)`}`,
    `  matching     cosine >= ${input.threshold}, candidates from ${input.lsh}`,
    '',
    `  pairs found  ${integer.format(pairs.length)}, written to ${input.outputFile}`,
  ];
  if (comparison !== undefined) {
    lines.push(
      `  vs planted   ${comparison.matched} of ${comparison.planted} planted pairs found (recall ${percent(comparison.recall)}),` +
        ` ${comparison.unplanted.length} not planted (precision ${percent(comparison.precision)})`,
    );
  }
  lines.push(
    `  throughput   ${integer.format(stats.recordsOut)} docs in ${seconds.toFixed(2)} s: ${integer.format(stats.recordsOut / Math.max(seconds, 1e-3))} docs/s`,
    input.dedupe
      ? `  repeats      ${integer.format(stats.cacheHits + stats.dedupedRecords)} docs not embedded again (${integer.format(stats.cacheHits)} from the cache,` +
          ` ${integer.format(stats.dedupedRecords)} sharing a call): ${integer.format(stats.recordsSent)} embedded`
      : `  repeats      every doc embedded (--no-dedupe): ${integer.format(stats.recordsSent)} embedded`,
    `  batches      ${integer.format(stats.batches)} calls, mean size ${stats.meanBatchSize.toFixed(1)};` +
      ` call latency p50 ${ms(stats.callLatencyMs.p50)}, p95 ${ms(stats.callLatencyMs.p95)}; queue wait p95 ${ms(stats.queueWaitMs.p95)}` +
      (stats.retries > 0 ? `; ${stats.retries} retries` : ''),
  );
  const examples = [...pairs].sort((x, y) => x.cosine - y.cosine).slice(0, 3);
  if (examples.length > 0) {
    lines.push('', 'Least similar pairs found:');
    for (const p of examples) lines.push(`  ${p.cosine.toFixed(3)}  ${p.a} / ${p.b}  ${describeDifference(p.textA, p.textB)}`);
  }
  if (comparison !== undefined && comparison.missed.length > 0) {
    const shown = comparison.missed.slice(0, 5).map((p) => `${p.original} / ${p.duplicate} (${p.edit})`);
    lines.push('', `Planted pairs missed: ${shown.join(', ')}${comparison.missed.length > 5 ? ', ...' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Where two near-identical texts differ, in a few words of context:
 * `… the [lantern → windmill] at the …`.
 */
export function describeDifference(a: string, b: string): string {
  const normal = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  if (a !== b && normal(a) === normal(b)) return '(same words; case and punctuation differ)';
  const x = a.split(' ');
  const y = b.split(' ');
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let end = 0;
  while (end < x.length - start && end < y.length - start && x[x.length - 1 - end] === y[y.length - 1 - end]) end++;
  const removed = x.slice(start, x.length - end).join(' ') || '∅';
  const added = y.slice(start, y.length - end).join(' ') || '∅';
  if (removed === '∅' && added === '∅') return '(identical texts)';
  const before = x.slice(Math.max(0, start - 3), start).join(' ');
  const after = x.slice(x.length - end, x.length - end + 3).join(' ');
  return `${start > 3 ? '… ' : ''}${before} [${removed} → ${added}] ${after}${end > 3 ? ' …' : ''}`.trim();
}
