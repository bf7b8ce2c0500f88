import type { Collector } from '../api/functions.js';
import type { OutputTag } from '../api/OutputTag.js';
import type { SourceReader } from '../api/Source.js';
import { Counter } from '../metrics/MetricRegistry.js';
import {
  snapshotOperator,
  type OneInputStreamOperator,
  type OperatorContext,
  type OperatorSnapshot,
  type Output,
} from '../operators/StreamOperator.js';
import { awaitClose, type CloseBound } from './awaitClose.js';
import { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';
import { OperatorError } from './errors.js';
import type { InputChannel } from './InputChannel.js';
import { raceAbort } from './raceAbort.js';
import type { RecordWriter } from './RecordWriter.js';

/**
 * The checkpoint id operators see for the final snapshot at the end of input,
 * and then in `notifyCheckpointComplete`: later than any periodic checkpoint,
 * so a sink commits everything it still holds.
 */
export const FINAL_CHECKPOINT = Number.MAX_SAFE_INTEGER;

/**
 * How long (ms) a task keeps processing chunks before it lets the event loop
 * run other tasks, timers and I/O. By time, not by chunk count: a chunk of
 * additions takes microseconds and one of model calls milliseconds, and what
 * a timer waiting behind the task feels is time.
 */
const TURN_MS = 1;

/** The job-wide stop signal every task watches, and the bound on closes once it stopped. */
export interface JobControl extends CloseBound {
  readonly signal: AbortSignal;
  /**
   * True once `signal` aborted. Task loops check it per chunk and per
   * callback: a plain field costs a load, where the AbortSignal getter is a
   * call whose object shape V8 sees change from job to job, which throws the
   * optimized loops of the next job back to the interpreter.
   */
  readonly stopped: boolean;
  /** Stops the job with `error`; `task` names the task (chain and subtask) it came from. */
  fail(error: unknown, operator: string | undefined, task?: string): void;
  /** A `close()` did not settle within `closeTimeoutMs` after the job stopped: the task ended without it. */
  closeUnfinished(operator: string, task: string): void;
}

/** One operator instance in a task, with what the task needs to drive it. */
export interface ChainedOperator {
  /** Stable id of the operator in checkpoints (its uid, or one derived from the graph). */
  readonly id: string;
  readonly operator: OneInputStreamOperator<unknown>;
  readonly ctx: OperatorContext<unknown>;
}

/** What one subtask contributes to a checkpoint. */
export interface TaskSnapshot {
  readonly operators: readonly { readonly id: string; readonly snapshot: OperatorSnapshot }[];
  readonly source?: { readonly id: string; readonly position: unknown };
}

/** The task's view of the checkpoint coordinator. */
export interface CheckpointParticipant {
  acknowledge(task: Task, checkpointId: number, snapshot: TaskSnapshot): void;
  /** The task reached the end of its input: no barrier can pass it any more. */
  inputEnded(task: Task): void;
  /** The task flushed everything: its final snapshot. Resolves true once the final checkpoint is stored. */
  finishTask(task: Task, snapshot: TaskSnapshot): Promise<boolean>;
  /** Whether snapshots are stored (checkpointing is on); without it the final snapshot skips keyed state. */
  readonly storesSnapshots: boolean;
}

/** A collector that also takes whole chunks: every collector the runtime wires is one. */
export interface ChunkCollector<T> extends Collector<T> {
  collectChunk(values: readonly T[]): void;
}

/** An operator that bounds what it takes (see `freeCapacity`). */
type BoundedOperator = OneInputStreamOperator<unknown> & { freeCapacity(): number };

/** Hands a chunk to an operator: in one call when it takes chunks, else record by record. */
function processChunk<T>(operator: OneInputStreamOperator<T>, values: readonly T[]): void {
  if (operator.processChunk !== undefined) operator.processChunk(values);
  else for (let i = 0; i < values.length; i++) operator.processElement(values[i] as T);
}

/** Feeds a chained operator: counts its input and tags its exceptions with its name. */
export class ChainedInput<T> implements ChunkCollector<T> {
  constructor(
    readonly operator: OneInputStreamOperator<T>,
    readonly recordsIn: Counter,
    readonly description: string,
  ) {}

  collect(value: T): void {
    this.recordsIn.count++;
    try {
      this.operator.processElement(value);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }

  collectChunk(values: readonly T[]): void {
    this.recordsIn.count += values.length;
    try {
      processChunk(this.operator, values);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }
}

/** Builds an operator's output, with a fast path for the common case of one main target and no side outputs. */
export function operatorOutput<T>(
  main: readonly ChunkCollector<T>[],
  side: ReadonlyMap<string, readonly Collector<unknown>[]>,
  recordsOut: Counter,
): ChunkOutput<T> {
  const only = main[0];
  if (main.length !== 1 || side.size !== 0 || only === undefined) return new OperatorOutput(main, side, recordsOut);
  return only instanceof ChainedInput ? new DirectChainedOutput(only, recordsOut) : new SingleTargetOutput(only, recordsOut);
}

/** An operator output the runtime wires: it takes chunks. */
export type ChunkOutput<T> = Output<T> & ChunkCollector<T>;

/** An output with exactly one target: one call per record, no loop. */
class SingleTargetOutput<T> implements ChunkOutput<T> {
  constructor(
    private readonly target: ChunkCollector<T>,
    protected readonly recordsOut: Counter,
  ) {}

  collect(value: T): void {
    this.recordsOut.count++;
    this.target.collect(value);
  }

  collectChunk(values: readonly T[]): void {
    this.recordsOut.count += values.length;
    this.target.collectChunk(values);
  }

  collectSide(): void {
    // No side outputs are wired: records emitted to them have no consumer.
  }
}

/**
 * The output of an operator whose only successor is chained to it: per
 * record, calls the successor's operator directly (one call per record and
 * operator, the hot path of chained per-record emitters), counting out and
 * in. Chunks go through the successor's input as usual.
 */
class DirectChainedOutput<T> extends SingleTargetOutput<T> {
  private readonly operator: OneInputStreamOperator<T>;
  private readonly recordsIn: Counter;
  private readonly description: string;

  constructor(next: ChainedInput<T>, recordsOut: Counter) {
    super(next, recordsOut);
    this.operator = next.operator;
    this.recordsIn = next.recordsIn;
    this.description = next.description;
  }

  override collect(value: T): void {
    this.recordsOut.count++;
    this.recordsIn.count++;
    try {
      this.operator.processElement(value);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }
}

/** An operator's output: its chained successors and record writers, main and side, and its out-count. */
class OperatorOutput<T> implements ChunkOutput<T> {
  constructor(
    private readonly main: readonly ChunkCollector<T>[],
    private readonly side: ReadonlyMap<string, readonly Collector<unknown>[]>,
    private readonly recordsOut: Counter,
  ) {}

  collect(value: T): void {
    this.recordsOut.count++;
    const main = this.main;
    for (let i = 0; i < main.length; i++) (main[i] as ChunkCollector<T>).collect(value);
  }

  collectChunk(values: readonly T[]): void {
    this.recordsOut.count += values.length;
    for (const target of this.main) target.collectChunk(values);
  }

  collectSide<S>(tag: OutputTag<S>, value: S): void {
    const targets = this.side.get(tag.id);
    if (targets !== undefined) for (const t of targets) t.collect(value);
  }
}

/** Where a task's records come from. */
export type TaskInput =
  | {
      readonly kind: 'source';
      readonly id: string;
      readonly reader: SourceReader<unknown>;
      readonly description: string;
      readonly restoredPosition: unknown;
      /** Records asked of each read: the environment's `chunkSize`. */
      readonly readSize: number;
    }
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
  private closed = false;
  /**
   * What the task waits for right now (`'input'`, `"endInput() of 'Batch'"`),
   * or undefined while it works: the job client shows it, and the stall
   * warning names the waits that are not for input.
   */
  waitingOn: string | undefined = undefined;
  /** A checkpoint the coordinator asked this source task to start. */
  private requestedCheckpoint: number | undefined;
  private wakeForCheckpoint: (() => void) | undefined;
  /** Source positions of checkpoints not yet confirmed complete, for the reader's acks. */
  private readonly positions = new Map<number, unknown>();
  /** Set when checkpointing is on. */
  checkpoints: CheckpointParticipant | undefined;
  /** Wall time spent processing (reads, records, timers, async callbacks), not waiting, in ms. */
  busyTimeMs: Counter = new Counter();
  /**
   * The first operator, if it bounds its input (`freeCapacity`). Kept as the
   * operator, not a bound method: a bound function is a new call target in
   * every job, and the JIT would throw away the read loop's code for it.
   */
  private readonly bounded: BoundedOperator | undefined;

  constructor(
    readonly name: string,
    private readonly job: JobControl,
    private readonly input: TaskInput,
    /** Receives every input record: the head operator's input, or a source's output. */
    private readonly head: ChunkCollector<unknown>,
    /** Head first, in topological order. */
    private readonly operators: readonly ChainedOperator[],
    private readonly writers: readonly RecordWriter<unknown>[],
  ) {
    const first = operators[0]?.operator;
    this.bounded = first?.freeCapacity === undefined ? undefined : (first as BoundedOperator);
  }

  // ------------------------------------------------------------ task hooks
  // What the operators' TaskHooks (JobRunner's relay) forward to: methods, not
  // closures made per job, since a closure is a new call target in every job.

  /** Runs `action` as one unit of this task's work (see `TaskHooks.execute`). */
  execute(action: () => void, operator: string): void {
    if (this.finished || this.job.stopped) return;
    const start = performance.now();
    try {
      action();
    } catch (error) {
      this.fail(error, operator);
      return;
    } finally {
      this.busyTimeMs.count += performance.now() - start;
    }
    this.flush();
  }

  fail(error: unknown, operator: string): void {
    this.job.fail(OperatorError.wrap(error, operator), operator, this.name);
  }

  backpressure(until: Promise<unknown>): void {
    this.blockers.push(until.catch(() => undefined));
  }

  /** Whether the task has ended: its operators and reader closed (or given up on). */
  get ended(): boolean {
    return this.closed;
  }

  async run(): Promise<void> {
    try {
      for (let i = this.operators.length - 1; i >= 0; i--) {
        const { operator, ctx } = this.operators[i] as ChainedOperator;
        this.waitingOn = `open() of ${ctx.description}`;
        await this.guard(ctx.description, () => operator.open?.());
      }
      this.waitingOn = undefined;
      if (this.input.kind === 'source') await this.readSource(this.input);
      else await this.readChannel(this.input.channel);
      if (this.job.stopped) return;
      this.checkpoints?.inputEnded(this);

      for (const { operator, ctx } of this.operators) {
        this.waitingOn = `endInput() of ${ctx.description}`;
        await this.guard(ctx.description, () => operator.endInput?.());
        if (this.job.stopped) return;
      }
      this.waitingOn = undefined;
      this.blockers = [];
      for (const writer of this.writers) writer.end();
      await this.finish();
    } catch (error) {
      const operator = error instanceof OperatorError ? error.operator : undefined;
      this.job.fail(error, operator, this.name);
    } finally {
      this.finished = true;
      await this.closeAll();
      this.closed = true;
    }
  }

  /** Pushes partly filled chunks downstream. */
  private flush(): void {
    for (const writer of this.writers) writer.flush();
  }

  /** Asks this source task to inject a barrier at its next opportunity. */
  triggerCheckpoint(checkpointId: number): void {
    this.requestedCheckpoint = checkpointId;
    this.wakeForCheckpoint?.();
  }

  /** Checkpoint `checkpointId` is durable: let operators commit and the source ack its broker. */
  notifyCheckpointComplete(checkpointId: number): void {
    if (this.finished) return;
    for (const { operator, ctx } of this.operators) {
      this.settleAsync(ctx.description, () => operator.notifyCheckpointComplete?.(checkpointId));
    }
    if (this.input.kind === 'source' && this.positions.has(checkpointId)) {
      const { reader, description } = this.input;
      const position = this.positions.get(checkpointId);
      for (const id of this.positions.keys()) if (id <= checkpointId) this.positions.delete(id);
      this.settleAsync(description, () => reader.notifyCheckpointComplete?.(checkpointId, position));
    }
  }

  private async readSource(input: Extract<TaskInput, { kind: 'source' }>): Promise<void> {
    const { reader, description, readSize } = input;
    this.waitingOn = `start() of source ${description}`;
    await this.guard(description, () => reader.start?.(input.restoredPosition));
    this.waitingOn = undefined;
    const head = this.head;
    let turnStart = performance.now();
    while (!this.job.stopped) {
      if (this.requestedCheckpoint !== undefined) await this.checkpointSource(input);
      let start = performance.now();
      // Reading counts as work: a synchronous reader (a generator) spends its CPU here.
      let records = this.wrap(description, () => reader.read(this.take(readSize)));
      if (records instanceof Promise) {
        this.busyTimeMs.count += performance.now() - start;
        const pending = this.guard(description, () => records);
        this.waitingOn = 'input';
        // Barriers may pass while a read waits for data: what that read returns comes after them.
        while (await this.readOrCheckpoint(pending)) await this.checkpointSource(input);
        records = (await pending) ?? null;
        this.waitingOn = undefined;
        start = performance.now();
      }
      if (records === null || this.job.stopped) break;
      // Everything chained to a source takes whole chunks: the read itself was cut to what
      // the first operator takes (see take), and per-record checks need a task of their own.
      head.collectChunk(records);
      this.flush();
      const end = performance.now();
      this.busyTimeMs.count += end - start;
      // A wait for blockers does not end the turn: a blocker that settled in a microtask let no
      // timer or I/O run, so only a real yield (endTurn) starts a new one.
      if (this.blockers.length !== 0) await this.waitForBlockers();
      if (records.length === 0 || end - turnStart >= TURN_MS) turnStart = await this.endTurn();
    }
  }

  /**
   * Waits for a pending read to settle or a checkpoint to be requested,
   * whichever comes first: true when a checkpoint is due. Nothing is left
   * attached afterwards (a source may wait like this millions of times).
   * The read itself gives up when the job stops.
   */
  private readOrCheckpoint(pending: Promise<unknown>): Promise<boolean> {
    if (this.requestedCheckpoint !== undefined) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      this.wakeForCheckpoint = () => resolve(true);
      const readDone = (): void => {
        this.wakeForCheckpoint = undefined;
        resolve(false);
      };
      pending.then(readDone, readDone);
    });
  }

  /** Injects the requested barrier with the reader's current position. Returns false when none was requested. */
  private async checkpointSource(input: Extract<TaskInput, { kind: 'source' }>): Promise<boolean> {
    const checkpointId = this.requestedCheckpoint;
    if (checkpointId === undefined) return false;
    this.requestedCheckpoint = undefined;
    this.wakeForCheckpoint = undefined;
    const position = this.wrap(input.description, () => input.reader.position());
    this.positions.set(checkpointId, position);
    await this.checkpoint(checkpointId, { id: input.id, position });
    return true;
  }

  private async readChannel(channel: InputChannel<unknown>): Promise<void> {
    const head = this.head;
    // A head operator without processChunk is fed record by record, with the backpressure
    // check before each one; one with it takes chunks, cut to what it takes (see take).
    const byChunk = this.operators[0]?.operator.processChunk !== undefined;
    let turnStart = performance.now();
    while (!this.job.stopped) {
      const chunk = channel.poll();
      if (chunk === null) break;
      if (chunk === undefined) {
        this.flush();
        this.waitingOn = 'input';
        await this.raceAbort(channel.readable());
        this.waitingOn = undefined;
        continue;
      }
      if (chunk instanceof CheckpointBarrier) {
        await this.checkpoint(chunk.id, undefined);
        continue;
      }
      let start = performance.now();
      for (let from = 0; from < chunk.length; ) {
        if (byChunk) {
          const n = this.take(chunk.length - from);
          head.collectChunk(from === 0 && n === chunk.length ? chunk : chunk.slice(from, from + n));
          from += n;
        } else {
          head.collect(chunk[from++]);
        }
        if (this.blockers.length !== 0 && from < chunk.length) start = await this.pauseForBlockers(start);
      }
      const end = performance.now();
      this.busyTimeMs.count += end - start;
      if (this.blockers.length !== 0) await this.waitForBlockers();
      if (end - turnStart >= TURN_MS) turnStart = await this.endTurn();
    }
    this.flush();
  }

  /**
   * How many of `max` records the first operator takes now: all of them,
   * unless it bounds its input (`freeCapacity`). At least one, since a full
   * operator has asked for backpressure, which the task waited out.
   */
  private take(max: number): number {
    const bounded = this.bounded;
    return bounded === undefined ? max : Math.max(1, Math.min(max, bounded.freeCapacity()));
  }

  /** Waits out backpressure in the middle of a chunk: busy time stops meanwhile. Returns when work resumes. */
  private async pauseForBlockers(busySince: number): Promise<number> {
    this.busyTimeMs.count += performance.now() - busySince;
    await this.waitForBlockers();
    return performance.now();
  }

  /**
   * Snapshots every operator of the chain at this instant (the synchronous
   * part), forwards the barrier downstream, then waits for the operators'
   * asynchronous parts (sinks flushing) before acknowledging.
   */
  private async checkpoint(checkpointId: number, source: TaskSnapshot['source']): Promise<void> {
    // The executor runs now (the synchronous part of the snapshot); a throw becomes a rejection that
    // Promise.all reports, so no operator's pending snapshot is left without a handler.
    const pending = this.operators.map(({ id, operator, ctx }) =>
      new Promise<OperatorSnapshot>((resolve) => resolve(snapshotOperator(ctx, operator, checkpointId))).then(
        (s) => ({ id, snapshot: s }),
        (error: unknown) => {
          throw OperatorError.wrap(error, ctx.description);
        },
      ),
    );
    const barrier = new CheckpointBarrier(checkpointId);
    for (const writer of this.writers) writer.broadcastBarrier(barrier);
    // A source checkpoints while its read waits: it waits for input again afterwards.
    const waitingBefore = this.waitingOn;
    this.waitingOn = `checkpoint ${checkpointId}`;
    const operators = await this.raceAbort(Promise.all(pending));
    this.waitingOn = waitingBefore;
    if (operators === undefined || this.job.stopped) return;
    this.checkpoints?.acknowledge(this, checkpointId, source === undefined ? { operators } : { operators, source });
  }

  /**
   * Offers the final snapshot (everything flushed) and, once the final
   * checkpoint is stored, lets the operators commit what is left (sinks'
   * last transactions) before the task closes.
   */
  private async finish(): Promise<void> {
    const participant = this.checkpoints;
    if (participant === undefined) return;
    this.waitingOn = 'the final checkpoint';
    const operators = await this.raceAbort(
      Promise.all(
        this.operators.map(async ({ id, operator, ctx }) => ({
          id,
          snapshot: await this.guard(ctx.description, () =>
            snapshotOperator(ctx, operator, FINAL_CHECKPOINT, participant.storesSnapshots),
          ),
        })),
      ),
    );
    if (operators === undefined || this.job.stopped) return;
    const snapshot: TaskSnapshot = {
      operators: operators.map(({ id, snapshot: s }) => ({ id, snapshot: s ?? {} })),
      ...(this.input.kind === 'source' ? { source: { id: this.input.id, position: this.input.reader.position() } } : {}),
    };
    const stored = await this.raceAbort(participant.finishTask(this, snapshot));
    if (stored !== true) return;
    for (const { operator, ctx } of this.operators) {
      this.waitingOn = `notifyCheckpointComplete() of ${ctx.description}`;
      await this.guard(ctx.description, () => operator.notifyCheckpointComplete?.(FINAL_CHECKPOINT));
    }
    if (this.input.kind === 'source' && snapshot.source !== undefined) {
      // A bounded broker source acks the tail it read since the last checkpoint.
      const { reader, description } = this.input;
      const position = snapshot.source.position;
      await this.guard(description, () => reader.notifyCheckpointComplete?.(FINAL_CHECKPOINT, position));
    }
  }

  /** Runs a possibly asynchronous callback whose failure fails the job, naming `operator`. */
  private settleAsync(operator: string, fn: () => void | Promise<void> | undefined): void {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch((error: unknown) => this.fail(error, operator));
    } catch (error) {
      this.fail(error, operator);
    }
  }

  /** Lets the event loop run; returns when the new turn of work starts. */
  private async endTurn(): Promise<number> {
    await yieldToEventLoop();
    return performance.now();
  }

  private async waitForBlockers(): Promise<void> {
    this.flush();
    this.waitingOn = 'backpressure (an operator or a full channel downstream)';
    while (this.blockers.length !== 0 && !this.job.stopped) {
      const waiting = this.blockers;
      this.blockers = [];
      await this.raceAbort(Promise.all(waiting));
    }
    this.waitingOn = undefined;
  }

  private raceAbort<T>(promise: Promise<T>): Promise<T | undefined> {
    return raceAbort(promise, this.job.signal);
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
      await this.close(ctx.description, () => operator.close?.());
    }
    if (this.input.kind === 'source') {
      const { reader } = this.input;
      await this.close(this.input.description, () => reader.close?.());
    }
    this.waitingOn = undefined;
  }

  /** Closes one operator or reader; once the job stopped, gives up on it after `closeTimeoutMs` and reports it. */
  private async close(operator: string, close: () => void | Promise<void> | undefined): Promise<void> {
    try {
      const closing = close();
      if (!(closing instanceof Promise)) return;
      this.waitingOn = `close() of ${operator}`;
      if (!(await awaitClose(closing, this.job))) this.job.closeUnfinished(operator, this.name);
    } catch (error) {
      this.job.fail(OperatorError.wrap(error, operator), operator, this.name);
    }
  }
}

/** Lets timers, I/O and other tasks run (not time-based, so not the Clock's business). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
