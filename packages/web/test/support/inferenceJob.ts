import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncDataStream, RetryStrategies } from '@tributary/async';
import {
  RestartStrategies,
  silentLogger,
  StreamExecutionEnvironment,
  SystemClock,
  ValueStateDescriptor,
  type Collector,
  type JobClient,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type ValueState,
} from '@tributary/core';
import { FakeBatchService } from '@tributary/testing';
import { gatedSource } from '../../../core/test/support/gatedSource.js';

/** Keys of the keyed step: a skew shows per subtask. */
const KEYS = 8;

/** Names of the job's operators, as the page shows them. */
export const OPERATORS = { source: 'documents', embed: 'embed', count: 'count per key', sink: 'results' } as const;

export interface InferenceJob {
  readonly client: JobClient;
  /** Lets the source emit records up to (excluding) `n`. */
  openUntil(n: number): void;
  /** Records the sink received (at least once: a restart may replay some). */
  readonly received: ReadonlySet<number>;
  /** Removes the checkpoint directory. */
  cleanup(): void;
}

/**
 * The main job's shape, on real time: a gated source -> an async batch
 * operator calling a fake model service (with a throttled call, retried) ->
 * a keyed process (parallelism 2) that fails once at `failAt` -> a sink,
 * with checkpoints and a restart strategy.
 */
export function startInferenceJob(options: { readonly total: number; readonly failAt: number }): InferenceJob {
  const directory = mkdtempSync(join(tmpdir(), 'tributary-web-'));
  const clock = new SystemClock();
  const gate = gatedSource(options.total);
  const service = new FakeBatchService<number, number>({
    clock,
    handler: (inputs) => inputs.map((n) => n * 2),
    latency: { baseMs: 2, perItemMs: 0.2 },
    throttleCalls: [3],
    retryAfterMs: 20,
  });
  const env = StreamExecutionEnvironment.create({ clock, runtime: 'single-thread', logger: silentLogger, restartStrategy: RestartStrategies.fixedDelay(2, 50) });
  env.enableCheckpointing(100, { storage: directory });
  const received = new Set<number>();
  const embedded = AsyncDataStream.unorderedWaitBatch(env.fromSource(gate.source, OPERATORS.source), (batch: readonly number[]) => service.call(batch), {
    maxBatchSize: 16,
    maxBatchDelay: 5,
    maxInFlightBatches: 2,
    retry: RetryStrategies.fixedDelay({ maxAttempts: 3, delayMs: 10 }),
  })
    .name(OPERATORS.embed)
    .uid(OPERATORS.embed);
  embedded
    .keyBy((n) => n % KEYS)
    .process(new CountPerKey({ at: options.failAt, done: false }))
    .name(OPERATORS.count)
    .setParallelism(2)
    .addSink((n) => void received.add(n))
    .name(OPERATORS.sink)
    .setParallelism(1);
  return {
    client: env.executeAsync('inference'),
    openUntil: (n) => gate.openUntil(n),
    received,
    cleanup: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** Counts records per key; throws once, on the record `failure.at` (doubled by the service), to make the job restart. */
class CountPerKey implements KeyedProcessFunction<number, number, number> {
  private seen!: ValueState<number>;

  /** Shared by every subtask and attempt, so the failure happens once. */
  constructor(private readonly failure: { readonly at: number; done: boolean }) {}

  open(ctx: RuntimeContext): void {
    this.seen = ctx.getState(new ValueStateDescriptor<number>('seen', 0));
  }

  processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    if (value === this.failure.at * 2 && !this.failure.done) {
      this.failure.done = true;
      throw new Error(`injected failure at record ${this.failure.at}`);
    }
    this.seen.update((this.seen.value() ?? 0) + 1);
    out.collect(value / 2);
  }
}
