import type { Collector } from '../api/functions.js';
import type { OutputTag } from '../api/OutputTag.js';
import type { SourceReader } from '../api/Source.js';
import type { Counter } from '../metrics/MetricRegistry.js';
import type { OneInputStreamOperator, OperatorContext, Output, TaskHooks } from '../operators/StreamOperator.js';
import { OperatorError } from './errors.js';
import type { InputChannel } from './InputChannel.js';
import type { RecordWriter } from './RecordWriter.js';

/** How many chunks a task processes before it lets the event loop run other tasks, timers and I/O. */
const CHUNKS_PER_TURN = 16;

/** The job-wide stop signal every task watches. */
export interface JobControl {
  readonly signal: AbortSignal;
  /** Resolves (never rejects) once the job is aborted: failed or cancelled. */
  readonly aborted: Promise<void>;
  fail(error: unknown, operator: string | undefined): void;
}

/** One operator instance in a task, with what the task needs to drive it. */
export interface ChainedOperator {
  readonly operator: OneInputStreamOperator<unknown>;
  readonly ctx: OperatorContext<unknown>;
}

/** Feeds a chained operator: counts its input and tags its exceptions with its name. */
export class ChainedInput<T> implements Collector<T> {
  constructor(
    private readonly operator: OneInputStreamOperator<T>,
    private readonly recordsIn: Counter,
    private readonly description: string,
  ) {}

  collect(value: T): void {
    this.recordsIn.count++;
    try {
      this.operator.processElement(value);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }
}

/** An operator's output: its chained successors and record writers, main and side, and its out-count. */
export class OperatorOutput<T> implements Output<T> {
  constructor(
    private readonly main: readonly Collector<T>[],
    private readonly side: ReadonlyMap<string, readonly Collector<unknown>[]>,
    private readonly recordsOut: Counter,
  ) {}

  collect(value: T): void {
    this.recordsOut.count++;
    const main = this.main;
    for (let i = 0; i < main.length; i++) (main[i] as Collector<T>).collect(value);
  }

  collectSide<S>(tag: OutputTag<S>, value: S): void {
    const targets = this.side.get(tag.id);
    if (targets !== undefined) for (const t of targets) t.collect(value);
  }
}

/** Where a task's records come from. */
export type TaskInput =
  | { readonly kind: 'source'; readonly reader: SourceReader<unknown>; readonly description: string; readonly restoredPosition: unknown }
  | { readonly kind: 'channel'; readonly channel: InputChannel<unknown> };

/**
 * One subtask of a chain: reads its input, pushes each record through the
 * chained operators synchronously, and waits whenever an operator or a full
 * downstream channel asks it to (backpressure). At end of input it lets every
 * operator flush in order, then closes them; on failure or cancellation it
 * closes them too, and never leaves a waiter hanging.
 */
export class Task {
  private blockers: Promise<unknown>[] = [];
  private finished = false;
  readonly hooks: TaskHooks;

  constructor(
    readonly name: string,
    private readonly job: JobControl,
    private readonly input: TaskInput,
    /** Receives every input record: the head operator's input, or a source's output. */
    private readonly head: Collector<unknown>,
    /** Head first, in topological order. */
    private readonly operators: readonly ChainedOperator[],
    private readonly writers: readonly RecordWriter<unknown>[],
  ) {
    this.hooks = {
      execute: (action, operator) => {
        if (this.finished || job.signal.aborted) return;
        try {
          action();
        } catch (error) {
          job.fail(OperatorError.wrap(error, operator), operator);
          return;
        }
        this.flush();
      },
      fail: (error, operator) => {
        job.fail(OperatorError.wrap(error, operator), operator);
      },
      backpressure: (until) => {
        this.blockers.push(until.catch(() => undefined));
      },
      signal: job.signal,
    };
  }

  async run(): Promise<void> {
    try {
      for (let i = this.operators.length - 1; i >= 0; i--) {
        const { operator, ctx } = this.operators[i] as ChainedOperator;
        await this.guard(ctx.description, () => operator.open?.());
      }
      if (this.input.kind === 'source') await this.readSource(this.input);
      else await this.readChannel(this.input.channel);
      if (this.job.signal.aborted) return;

      for (const { operator, ctx } of this.operators) {
        await this.guard(ctx.description, () => operator.endInput?.());
        if (this.job.signal.aborted) return;
      }
      this.blockers = [];
      for (const writer of this.writers) writer.end();
    } catch (error) {
      const operator = error instanceof OperatorError ? error.operator : undefined;
      this.job.fail(error, operator);
    } finally {
      this.finished = true;
      await this.closeAll();
    }
  }

  /** Pushes partly filled chunks downstream. */
  private flush(): void {
    for (const writer of this.writers) writer.flush();
  }

  private async readSource(input: Extract<TaskInput, { kind: 'source' }>): Promise<void> {
    const { reader, description } = input;
    await this.guard(description, () => reader.start?.(input.restoredPosition));
    const head = this.head;
    for (let chunks = 1; !this.job.signal.aborted; chunks++) {
      let records = this.wrap(description, () => reader.read(256));
      if (records instanceof Promise) {
        const pending = records;
        records = (await this.guard(description, () => pending)) ?? null;
      }
      if (records === null || this.job.signal.aborted) break;
      for (const record of records) {
        head.collect(record);
        if (this.blockers.length !== 0) await this.waitForBlockers();
      }
      this.flush();
      if ((records).length === 0 || chunks % CHUNKS_PER_TURN === 0) await yieldToEventLoop();
    }
  }

  private async readChannel(channel: InputChannel<unknown>): Promise<void> {
    const head = this.head;
    for (let chunks = 1; !this.job.signal.aborted; chunks++) {
      const chunk = channel.poll();
      if (chunk === null) break;
      if (chunk === undefined) {
        this.flush();
        await this.raceAbort(channel.readable());
        continue;
      }
      for (const record of chunk) {
        head.collect(record);
        if (this.blockers.length !== 0) await this.waitForBlockers();
      }
      if (chunks % CHUNKS_PER_TURN === 0) await yieldToEventLoop();
    }
    this.flush();
  }

  private async waitForBlockers(): Promise<void> {
    this.flush();
    while (this.blockers.length !== 0 && !this.job.signal.aborted) {
      const waiting = this.blockers;
      this.blockers = [];
      await this.raceAbort(Promise.all(waiting));
    }
  }

  private raceAbort<T>(promise: Promise<T>): Promise<T | undefined> {
    return Promise.race([promise, this.job.aborted.then(() => undefined)]);
  }

  private wrap<T>(operator: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw OperatorError.wrap(error, operator);
    }
  }

  private async guard<T>(operator: string, fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await this.raceAbort(Promise.resolve(fn()));
    } catch (error) {
      throw OperatorError.wrap(error, operator);
    }
  }

  private async closeAll(): Promise<void> {
    for (const { operator, ctx } of this.operators) {
      ctx.processingTimeService.dispose();
      ctx.keyed?.timers.dispose();
      try {
        await operator.close?.();
      } catch (error) {
        this.job.fail(OperatorError.wrap(error, ctx.description), ctx.description);
      }
    }
    if (this.input.kind === 'source') {
      try {
        await this.input.reader.close?.();
      } catch (error) {
        this.job.fail(OperatorError.wrap(error, this.input.description), this.input.description);
      }
    }
  }
}

/** Lets timers, I/O and other tasks run (not time-based, so not the Clock's business). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
