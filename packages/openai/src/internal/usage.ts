import type { MetricGroup } from '@tributary/core';
import { isRecord } from './Endpoint.js';

/** The answer's `usage` fields and the counters they add to. */
const USAGE_COUNTERS = [
  ['prompt_tokens', 'promptTokens'],
  ['completion_tokens', 'completionTokens'],
  ['total_tokens', 'totalTokens'],
] as const;

/** Adds an answer's token usage, when the server reports it, to the calling operator's counters. */
export function countUsage(json: unknown, metrics: MetricGroup | undefined): void {
  const usage = isRecord(json) ? json.usage : undefined;
  if (metrics === undefined || !isRecord(usage)) return;
  for (const [field, counter] of USAGE_COUNTERS) {
    const tokens = usage[field];
    if (typeof tokens === 'number' && Number.isFinite(tokens) && tokens >= 0) metrics.counter(counter).count += tokens;
  }
}
