import type { SourceReader } from '../api/Source.js';
import { copyState, type OneInputStreamOperator } from '../operators/StreamOperator.js';
import { awaitClose, type CloseBound } from './awaitClose.js';
import type { ChunkCollector } from './ChainOutputs.js';
import { CheckpointBarrier } from './checkpoint/CheckpointBarrier.js';
import { OperatorError } from './errors.js';
import { yieldToEventLoop } from './eventLoop.js';
import type { InputGate } from './InputGate.js';
import type { TaskStatus } from './JobWatchdog.js';
import { Mailbox, type MailboxOwner } from './Mailbox.js';
import { OperatorChain, type ChainDriver, type ChainedOperator } from './OperatorChain.js';
import type { AbortRace } from './raceAbort.js';
import type { RecordWriter } from './RecordWriter.js';
import { FINAL_CHECKPOINT, type TaskId, type TaskReports, type TaskSnapshot } from './TaskGateway.js';
import { TaskTime } from './TaskTime.js';

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
  /** True once `signal` aborted; hot loops read this plain field, not the signal's getter (docs/internals.md). */
  readonly stopped: boolean;
  /** The task's waits raced against `signal` (hot loops wait through it, not through the signal itself). */
  readonly abortRace: AbortRace;
  /** Stops the job with `error`; `task` names the task (chain and subtask) it came from. */
  fail(error: unknown, operator: string | undefined): void;
  /** A `close()` did not settle within `closeTimeoutMs` after the job stopped: the task ended without it (`closing` may still write). */
  closeUnfinished(operator: string, task: string, closing: Promise<unknown>): void;
}

/** An operator that bounds what it takes (see `freeCapacity`). */
type BoundedOperator = OneInputStreamOperator<unknown> & { freeCapacity(): number };

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
      /** Aborted by `drain()`: the reader's `drainSignal`, so that a read waiting for data returns. */
      readonly drain: AbortController;
    }
  | { readonly kind: 'channel'; readonly channel: InputGate<unknown> };

/**
 * One subtask of a chain: reads its input and pushes each chunk through the
 * chained operators (its {@link OperatorChain}) as one action of its
 * {@link Mailbox}; timers, async completions and checkpoint notifications
 * run as mails between chunks. It waits whenever an operator or a full
 * downstream channel asks it to (backpressure). At end of input it lets every
 * operator flush in order, then closes them; on failure or cancellation it
 * closes them too, and never leaves a waiter hanging.
 */
export class Task implements MailboxOwner, ChainDriver {
  /** Every action on the operators runs through it, one at a time. */
  readonly mailbox: Mailbox = new Mailbox(this);
  private blockers: Promise<unknown>[] = [];
  private finished = false;
  private closed = false;
  /**
   * What the task waits for right now (`'input'`, `"endInput() of 'Batch'"`),
   * or undefined while it works: the job client shows it, and the stall
   * warning names the waits that are not for input.
   */
  private waitingOn: string | undefined = undefined;
  /** The checkpoint asked for and not yet taken: a source takes it between reads, a task whose input ended while an operator flushes (see `step`). */
  private requestedCheckpoint: number | undefined;
  /** The newest checkpoint this task took part in: a later trigger for it or an older one is dropped. */
  private lastCheckpointId = 0;
  /**
   * Asked to drain: a source reads no more once the read in progress returned, and its input ends (`JobClient.drain`).
   * The source input's `drain` signal says as much; its loop reads this plain field instead (docs/internals.md).
   */
  private draining = false;
  private wakeForCheckpoint: (() => void) | undefined;
  /** Source positions of checkpoints not yet confirmed complete, for the reader's acks. */
  private readonly positions = new Map<number, unknown>();
  private readonly chain: OperatorChain;
  /** Where checkpoint acks and the final snapshot go (the coordinator, through the task's gateway). */
  checkpoints: TaskReports | undefined;
  /** Resolves the wait for the final checkpoint to be stored. */
  private finalCheckpointStored: (() => void) | undefined;
  /** Its busy, backpressured and idle time. */
  readonly time = new TaskTime();
  /** The first operator, if it bounds its input (`freeCapacity`); the operator, not a bound method, so the read loop keeps one call target. */
  private readonly bounded: BoundedOperator | undefined;

  readonly id: TaskId;
  /** For people: the chain's operators and the subtask, `Map -> Sink (1/2)`. */
  readonly name: string;

  constructor(
    identity: { readonly id: TaskId; readonly name: string },
    private readonly job: JobControl,
    private readonly input: TaskInput,
    /** Receives every input record: the head operator's input, or a source's output. */
    private readonly head: ChunkCollector<unknown>,
    /** Head first, in topological order. */
    operators: readonly ChainedOperator[],
    private readonly writers: readonly RecordWriter<unknown>[],
  ) {
    this.id = identity.id;
    this.name = identity.name;
    this.chain = new OperatorChain(operators);
    const first = operators[0]?.operator;
    this.bounded = first?.freeCapacity === undefined ? undefined : (first as BoundedOperator);
  }

  // ------------------------------------------------------------ task hooks
  // What the operators' TaskHooks (JobRunner's relay) forward to: methods, not per-job closures.

  /** Runs `action` as a mail of this task (see `TaskHooks.execute`). */
  execute(action: () => void, operator: string): void {
    this.mailbox.execute(action, operator);
  }

  get mailboxClosed(): boolean {
    return this.finished || this.job.stopped;
  }

  mailFailed(error: unknown, operator: string): void {
    this.fail(error, operator);
  }

  mailsDone(): void {
    try {
      this.flush();
    } catch (error) {
      // A mail's records that cannot be sent (a record that cannot cross threads) fail the job, not the thread the mail ran on.
      this.fail(error, this.name);
    }
  }

  fail(error: unknown, operator: string): void {
    // An error already blamed on an operator keeps it: one down the chain from `operator` threw on what it emitted.
    const blamed = OperatorError.wrap(error, operator);
    this.job.fail(blamed, blamed.operator);
  }

  backpressure(until: Promise<unknown>): void {
    this.blockers.push(until.catch(() => undefined));
  }

  /** What the task is doing, as plain data (it can cross a thread): for `JobClient.tasks()` and the stall warning. */
  status(): TaskStatus {
    return { task: this.name, waitingOn: this.waitingOn, ended: this.closed };
  }

  async run(): Promise<void> {
    try {
      await this.chain.open(this);
      if (this.input.kind === 'source') await this.readSource(this.input);
      else await this.readChannel(this.input.channel);
      if (this.job.stopped) return;
      this.checkpoints?.report({ kind: 'inputEnded', task: this.id });

      await this.chain.endInput(this);
      if (this.job.stopped) return;
      for (const writer of this.writers) writer.end();
      await this.finish();
    } catch (error) {
      const operator = error instanceof OperatorError ? error.operator : undefined;
      this.job.fail(error, operator);
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

  /**
   * Asks this task to inject a barrier: a source between reads; a task whose input ended while an operator flushes
   * (an async operator waiting for its last calls), since no barrier reaches it any more and the tasks after it must
   * not wait for its end to align (see `step`). One that ends first gives its final snapshot instead. A trigger for a
   * checkpoint it took part in already is dropped, so no barrier goes out twice.
   */
  triggerCheckpoint(checkpointId: number): void {
    if (checkpointId <= this.lastCheckpointId || checkpointId <= (this.requestedCheckpoint ?? 0)) return;
    this.requestedCheckpoint = checkpointId;
    this.wakeForCheckpoint?.();
  }

  /** A source reads no more: what its read in progress returns still goes downstream, then its input ends as a bounded one's does. */
  drain(): void {
    this.draining = true;
    if (this.input.kind === 'source') this.input.drain.abort();
  }

  /** Checkpoint `checkpointId` is durable: let operators commit and the source ack its broker. */
  notifyCheckpointComplete(checkpointId: number): void {
    if (checkpointId === FINAL_CHECKPOINT) {
      this.finalCheckpointStored?.();
      return;
    }
    this.mailbox.execute(() => this.notifyOperators(checkpointId), this.name);
  }

  private notifyOperators(checkpointId: number): void {
    this.chain.notifyCheckpointComplete(this, checkpointId);
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
    const time = this.time;
    // Reading counts as work: a synchronous reader (a generator) spends its CPU here.
    let turnStart = time.switchTo(time.busyTimeMs);
    while (!this.job.stopped && !this.draining) {
      if (this.requestedCheckpoint !== undefined) await this.takeRequestedCheckpoint(input);
      let records = this.wrap(description, () => reader.read(this.take(readSize)));
      if (records instanceof Promise) {
        const pending = this.guard(description, () => records);
        // The task gives up the thread: what the writers hold goes out. Nothing is awaited before
        // settledOrCheckpoint: a read settling meanwhile moves the position past records a barrier must not cover.
        this.flush();
        this.waitingOn = 'input';
        time.switchTo(time.idleTimeMs);
        // Barriers may pass while a read waits for data: what that read returns comes after them.
        while (await this.settledOrCheckpoint(pending)) await this.takeRequestedCheckpoint(input);
        records = (await pending) ?? null;
        time.switchTo(time.busyTimeMs);
        this.waitingOn = undefined;
      }
      if (records === null || this.job.stopped) break;
      // Everything chained to a source takes whole chunks: the read itself was cut to what
      // the first operator takes (see take), and per-record checks need a task of their own.
      this.mailbox.enter();
      if (records.length !== 0) this.chain.inputResumed();
      head.collectChunk(records);
      this.mailbox.leave();
      const end = performance.now();
      // A wait for blockers does not end the turn: a blocker that settled in a microtask let no
      // timer or I/O run, so only a real yield (endTurn) starts a new one.
      if (this.blockers.length !== 0) await this.waitForBlockers();
      if (records.length === 0 || end - turnStart >= TURN_MS) turnStart = await this.endTurn();
    }
    time.switchTo(undefined);
  }

  /**
   * Waits for `pending` (a read, an operator's end of input) to settle or a
   * checkpoint to be requested, whichever comes first: true when a checkpoint
   * is due. Nothing is left attached afterwards (a source may wait like this
   * millions of times). What `pending` waits for gives up when the job stops.
   */
  private settledOrCheckpoint(pending: Promise<unknown>): Promise<boolean> {
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

  /** Injects the requested barrier, with the reader's current position for a source. Returns false when none was requested. */
  private async takeRequestedCheckpoint(input: Extract<TaskInput, { kind: 'source' }> | undefined): Promise<boolean> {
    const checkpointId = this.requestedCheckpoint;
    if (checkpointId === undefined) return false;
    this.requestedCheckpoint = undefined;
    this.wakeForCheckpoint = undefined;
    await this.checkpoint(checkpointId, input);
    return true;
  }

  private async readChannel(channel: InputGate<unknown>): Promise<void> {
    const head = this.head;
    // A head operator without processChunk is fed record by record, with the backpressure
    // check before each one; one with it takes chunks, cut to what it takes (see take).
    const byChunk = this.chain.operators[0]?.operator.processChunk !== undefined;
    const time = this.time;
    let turnStart = time.switchTo(time.busyTimeMs);
    while (!this.job.stopped) {
      const chunk = channel.poll();
      if (chunk === null) break;
      if (chunk === undefined) {
        this.flush();
        this.waitingOn = 'input';
        time.switchTo(time.idleTimeMs);
        await this.raceAbort(channel.readable());
        time.switchTo(time.busyTimeMs);
        this.waitingOn = undefined;
        continue;
      }
      if (chunk instanceof CheckpointBarrier) {
        await this.checkpoint(chunk.id, undefined);
        continue;
      }
      const mailbox = this.mailbox;
      mailbox.enter();
      if (chunk.length !== 0) this.chain.inputResumed();
      for (let from = 0; from < chunk.length; ) {
        if (byChunk) {
          const n = this.take(chunk.length - from);
          head.collectChunk(from === 0 && n === chunk.length ? chunk : chunk.slice(from, from + n));
          from += n;
        } else {
          head.collect(chunk[from++]);
        }
        if (this.blockers.length !== 0 && from < chunk.length) {
          mailbox.leave();
          await this.waitForBlockers();
          mailbox.enter();
        }
      }
      mailbox.leave();
      const end = performance.now();
      if (this.blockers.length !== 0) await this.waitForBlockers();
      if (end - turnStart >= TURN_MS) turnStart = await this.endTurn();
    }
    this.flush();
    time.switchTo(undefined);
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

  /**
   * Waits for pending writes, snapshots every operator of the chain (and a
   * source's position) in one action (the synchronous part), forwards the
   * barrier downstream, then waits for the operators' asynchronous parts
   * (sinks flushing) before acknowledging.
   */
  private async checkpoint(checkpointId: number, input: Extract<TaskInput, { kind: 'source' }> | undefined): Promise<void> {
    this.lastCheckpointId = Math.max(this.lastCheckpointId, checkpointId);
    // A source checkpoints while its read waits: it waits for input again afterwards.
    const waitingBefore = this.waitingOn;
    const time = this.time;
    const chargedBefore = time.current;
    // The source's position first: a read pending now (a barrier comes while a read waits) may settle during the
    // wait below, and what it returns goes out after the barrier. Copied at once, as operator state is at the
    // barrier: a reader may go on changing the object it returned, and on one thread nothing else copies it
    // before the checkpoint is stored (or kept for an in-process restart).
    const position = input === undefined ? undefined : copyState(this.wrap(input.description, () => input.reader.position()), input.description, 'position()');
    // A write still pending (a sink's, of a record a mail emitted while the task waited) belongs before the barrier.
    if (this.blockers.length !== 0) await this.waitForBlockers();
    if (this.job.stopped) return;
    time.switchTo(time.busyTimeMs);
    this.mailbox.enter();
    let source: TaskSnapshot['source'];
    if (input !== undefined) {
      this.positions.set(checkpointId, position);
      source = { id: input.id, position };
    }
    const pending = this.chain.snapshot(checkpointId);
    const barrier = new CheckpointBarrier(checkpointId);
    for (const writer of this.writers) writer.broadcastBarrier(barrier);
    this.mailbox.leave();
    this.flush();
    this.waitingOn = `checkpoint ${checkpointId}`;
    time.switchTo(undefined);
    const operators = await this.raceAbort(pending);
    time.switchTo(chargedBefore);
    this.waitingOn = waitingBefore;
    if (operators === undefined || this.job.stopped) return;
    const snapshot = source === undefined ? { operators } : { operators, source };
    const alignmentMs = this.input.kind === 'channel' ? this.input.channel.alignmentMs : 0;
    this.checkpoints?.report({ kind: 'acknowledgeCheckpoint', task: this.id, checkpointId, snapshot, alignmentMs });
  }

  /**
   * Offers the final snapshot (everything flushed) and, once the final
   * checkpoint is stored, lets the operators commit what is left (sinks'
   * last transactions) before the task closes.
   */
  private async finish(): Promise<void> {
    const participant = this.checkpoints;
    if (participant === undefined) return;
    const operators = await this.chain.finalSnapshot(this, FINAL_CHECKPOINT, participant.storesSnapshots);
    if (this.job.stopped) return;
    this.waitingOn = 'the final checkpoint';
    const input = this.input.kind === 'source' ? this.input : undefined;
    const snapshot: TaskSnapshot = {
      operators,
      ...(input === undefined ? {} : { source: { id: input.id, position: copyState(this.wrap(input.description, () => input.reader.position()), input.description, 'position()') } }),
    };
    const stored = new Promise<true>((resolve) => (this.finalCheckpointStored = () => resolve(true)));
    participant.report({ kind: 'finalSnapshot', task: this.id, snapshot });
    if ((await this.raceAbort(stored)) !== true) return;
    await this.chain.notifyFinalCheckpoint(this, FINAL_CHECKPOINT);
    if (this.input.kind === 'source' && snapshot.source !== undefined) {
      // A bounded broker source acks the tail it read since the last checkpoint.
      const { reader, description } = this.input;
      const position = snapshot.source.position;
      await this.guard(description, () => reader.notifyCheckpointComplete?.(FINAL_CHECKPOINT, position));
    }
    if (!this.job.stopped) participant.report({ kind: 'finalCommitted', task: this.id });
  }

  /** Runs a possibly asynchronous callback whose failure fails the job, naming `operator`. */
  settleAsync(operator: string, fn: () => void | Promise<void> | undefined): void {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch((error: unknown) => this.fail(error, operator));
    } catch (error) {
      this.fail(error, operator);
    }
  }

  /**
   * Lets the event loop run (time charged to none meanwhile); returns when the new turn of work starts.
   * A task flushes its writers whenever it gives up the thread, so partly filled chunks go out here, and
   * the room they take is waited for before the next turn reads more.
   */
  private async endTurn(): Promise<number> {
    this.flush();
    if (this.blockers.length !== 0) await this.waitForBlockers();
    const time = this.time;
    time.switchTo(undefined);
    await yieldToEventLoop();
    return time.switchTo(time.busyTimeMs);
  }

  settleBackpressure(): Promise<void> {
    return this.blockers.length === 0 ? Promise.resolve() : this.waitForBlockers();
  }

  private async waitForBlockers(): Promise<void> {
    this.flush();
    this.waitingOn = 'backpressure (an operator or a full channel downstream)';
    const time = this.time;
    const chargedBefore = time.current;
    time.switchTo(time.backPressuredTimeMs);
    while (this.blockers.length !== 0 && !this.job.stopped) {
      const waiting = this.blockers;
      this.blockers = [];
      await this.raceAbort(Promise.all(waiting));
    }
    time.switchTo(chargedBefore);
    this.waitingOn = undefined;
  }

  private raceAbort<T>(promise: Promise<T>): Promise<T | undefined> {
    return this.job.abortRace.race(promise);
  }

  private wrap<T>(operator: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw OperatorError.wrap(error, operator);
    }
  }

  get stopped(): boolean {
    return this.job.stopped;
  }

  async step<T>(waitingOn: string, operator: string, call: () => T | Promise<T>, takesCheckpoints = false): Promise<T | undefined> {
    // The call's synchronous part is task work, like a chunk: the mails it sends run after it returns.
    const time = this.time;
    const chargedBefore = time.current;
    time.switchTo(time.busyTimeMs);
    this.mailbox.enter();
    let pending: T | Promise<T>;
    try {
      pending = call();
    } catch (error) {
      // As for a chunk that throws: the task fails, and the closed mailbox drops what the call queued.
      throw OperatorError.wrap(error, operator);
    }
    this.mailbox.leave();
    time.switchTo(chargedBefore);
    this.waitingOn = waitingOn;
    const settled = this.guard(operator, () => pending);
    if (takesCheckpoints) {
      // Taken between the call's start and its end, never beside it, so no checkpoint sees the chain mid-step; none
      // once the call settled (one that failed fails the job at once).
      const input = this.input.kind === 'source' ? this.input : undefined;
      let done = false;
      const settle = () => void (done = true);
      settled.then(settle, settle);
      while (!done && (await this.settledOrCheckpoint(settled))) await this.takeRequestedCheckpoint(input);
    }
    const result = await settled;
    this.waitingOn = undefined;
    return result;
  }

  private async guard<T>(operator: string, fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await this.raceAbort(Promise.resolve(fn()));
    } catch (error) {
      throw OperatorError.wrap(error, operator);
    }
  }

  private async closeAll(): Promise<void> {
    await this.chain.close(this);
    if (this.input.kind === 'source') {
      const { reader } = this.input;
      await this.close(this.input.description, () => reader.close?.());
    }
    this.waitingOn = undefined;
  }

  /** Closes one operator or reader; once the job stopped, gives up on it after `closeTimeoutMs` and reports it. */
  async close(operator: string, close: () => void | Promise<void> | undefined): Promise<void> {
    try {
      const closing = close();
      if (!(closing instanceof Promise)) return;
      this.waitingOn = `close() of ${operator}`;
      if (!(await awaitClose(closing, this.job))) this.job.closeUnfinished(operator, this.name, closing);
    } catch (error) {
      this.job.fail(OperatorError.wrap(error, operator), operator);
    }
  }
}

