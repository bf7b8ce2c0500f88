import type { MetricRegistry } from '@tributary/core';
import { batchStats } from './batchStats.js';

/** Where progress goes: `process.stdout`, or anything with `write` (and `isTTY` for a live line). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

export interface ProgressOptions {
  /** The registry the job registers its metrics in (`env.metrics`). */
  readonly registry: MetricRegistry;
  readonly job: string;
  readonly operator: string;
  readonly stream: ProgressStream;
  /** Documents in the input, when known: shown as `done/total`. */
  readonly total?: number | undefined;
  /** Default: 250 ms on a terminal, 1000 ms otherwise. */
  readonly intervalMs?: number;
  /** Milliseconds from some fixed point. Default `performance.now`. */
  readonly now?: () => number;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * Shows how a running job is doing, read from its metric registry: on a
 * terminal a line rewritten in place a few times a second, otherwise one
 * plain log line per interval (CI logs, pipes).
 *
 * It runs on real timers: it watches a job from the outside, it is not part
 * of one (jobs get their time from the environment's clock).
 */
export class Progress {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;
  private readonly live: boolean;
  private readonly startedAt: number;
  private last: { readonly at: number; readonly done: number };

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? (() => performance.now());
    this.live = options.stream.isTTY === true;
    this.startedAt = this.now();
    this.last = { at: this.startedAt, done: 0 };
  }

  start(): this {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? (this.live ? 250 : 1000));
    // A progress timer must never keep the process alive on its own.
    this.timer.unref();
    return this;
  }

  /** Stops the updates and clears the live line, so the report starts on a clean line. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) this.options.stream.write('\r\x1b[2K');
  }

  /** Writes one update. */
  tick(): void {
    const line = this.line();
    this.options.stream.write(this.live ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** The current status: documents done, docs/s since the last update, mean batch size, batches in flight, p95 call latency. */
  line(): string {
    const { job, operator, registry, total } = this.options;
    const stats = batchStats(registry.entries(), { job, operator });
    const at = this.now();
    const rate = at > this.last.at ? ((stats.recordsOut - this.last.done) * 1000) / (at - this.last.at) : 0;
    this.last = { at, done: stats.recordsOut };
    const done = total === undefined ? integer.format(stats.recordsOut) : `${integer.format(stats.recordsOut)}/${integer.format(total)}`;
    const elapsed = this.live ? '' : `[${((at - this.startedAt) / 1000).toFixed(1)}s] `;
    return (
      `${elapsed}embedded ${done} docs | ${integer.format(rate)} docs/s | mean batch ${stats.meanBatchSize.toFixed(1)}` +
      ` | in flight ${stats.inFlightBatches} | p95 call ${stats.callLatencyMs.p95.toFixed(1)} ms`
    );
  }
}
