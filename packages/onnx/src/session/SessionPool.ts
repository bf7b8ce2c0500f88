import type { InferenceSession } from 'onnxruntime-node';
import type { FeedsModule } from './feedsModule.js';
import { modelFileIdentity } from './modelFile.js';
import { parkSessionWorkers, takeIdleSessionWorker } from './idleSessionWorkers.js';
import type { SessionBatch, SessionRunner } from './SessionRunner.js';
import { RequestNotStarted, SessionWorker, type Pending, type SessionWorkerSpec, type WireOutputs } from './sessionWorkerHandle.js';
import { feedsToWire, tensorsFromWire, type RunRequest } from './wire.js';

/**
 * Requests a worker holds at most: the one it runs and the next, posted while
 * the first runs so that the worker starts it as soon as the first returns,
 * without waiting for a round trip through this thread (a few hundred
 * microseconds on a busy machine, a third of a small batch's run).
 */
const REQUESTS_PER_WORKER = 2;

/** A call waiting for a worker: its request, and how to answer it. */
interface WaitingCall extends Pending<WireOutputs> {
  readonly request: RunRequest;
  readonly transfer: ArrayBuffer[];
}

/** Options of a {@link SessionPool}. */
export interface SessionPoolOptions {
  readonly model: string | Uint8Array;
  readonly sessionOptions: InferenceSession.SessionOptions;
  /** Most worker threads (and sessions) at once. */
  readonly maxWorkers: number;
  /** Names the model in errors. */
  readonly label: string;
  /** Loaded by every worker, to build the feeds of a batch that brings plain inputs. */
  readonly feeds: FeedsModule | undefined;
}

/**
 * Worker threads that each hold an inference session, so runs happen off
 * the caller's event loop and up to `maxWorkers` of them at once.
 *
 * The first worker starts with the pool; another starts only when a call
 * finds every worker busy, so the pool grows to the number of calls in
 * flight (the operator's `maxInFlightBatches`). Once all `maxWorkers` have
 * started, a call that finds them busy is posted to one that runs a single
 * request, to start when that request returns (see REQUESTS_PER_WORKER).
 * A worker that dies fails the call it was running (a call posted behind
 * it waits again) and leaves the pool; the next call that needs one starts
 * a new one. A worker that cannot start fails a waiting call only when no
 * worker serves; while one does, the calls wait for it and the pool does
 * not try to grow again.
 * Workers outlive the pool: a closed pool's healthy idle workers wait for the
 * next pool with equal data (see idleSessionWorkers), which takes them before
 * starting new ones.
 */
export class SessionPool implements SessionRunner {
  /** The model's inputs, from the first worker's session: rejects when that session cannot be created. */
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly spec: SessionWorkerSpec;
  private readonly workers = new Set<SessionWorker>();
  private readonly idle: SessionWorker[] = [];
  /** Calls waiting for a worker, first come first served. */
  private readonly waiting: WaitingCall[] = [];
  private starting = 0;
  /** A worker failed to start since the last one that did: the pool does not grow while another serves. */
  private growthFailed = false;
  private closed = false;

  constructor(private readonly options: SessionPoolOptions) {
    const { model, sessionOptions, label, feeds } = options;
    this.spec = { model, sessionOptions, label, feeds, modelFile: modelFileIdentity(model) };
    this.inputs = this.start().ready;
  }

  /**
   * Runs the session once on a worker, waiting for one (or starting one) when all are busy: feeds' buffers move
   * to it; plain inputs are cloned, and the worker's feeds builder builds the feeds there.
   */
  async run(batch: SessionBatch): Promise<InferenceSession.ReturnType> {
    const { request, transfer } = toRequest(batch, this.options.label);
    if (this.closed) throw this.closedError();
    const outputs = new Promise<WireOutputs>((resolve, reject) => this.waiting.push({ request, transfer, resolve, reject }));
    this.dispatch();
    return tensorsFromWire(await outputs);
  }

  /**
   * Leaves the healthy idle workers to the next pool and stops the others:
   * each releases its session and ends after the run it has (a run cannot be
   * interrupted), or once its session exists if it is still starting. Calls
   * still waiting for a worker are rejected.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const call of this.waiting.splice(0)) call.reject(this.closedError());
    const idle = this.idle.splice(0);
    for (const worker of idle) this.workers.delete(worker);
    const ending = [...this.workers, ...parkSessionWorkers(idle)];
    this.workers.clear();
    await Promise.all(ending.map((worker) => worker.stop()));
  }

  /**
   * Posts waiting calls: to idle workers first; with every worker busy, to a new worker while the pool may grow,
   * else behind the run of a worker that has only that one.
   */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      const worker = this.idle.pop() ?? this.busyWorkerWithRoom();
      if (worker === undefined) {
        this.startForWaiting();
        return;
      }
      this.post(worker, this.waiting.shift()!);
    }
  }

  /** A busy worker with room for the next request (only once the pool is complete, see `hasRoom`). */
  private busyWorkerWithRoom(): SessionWorker | undefined {
    for (const worker of this.workers) if (worker.outstanding > 0 && this.hasRoom(worker)) return worker;
    return undefined;
  }

  /** Whether `worker` takes another request now: when it has none, or one while the pool has all its workers. */
  private hasRoom(worker: SessionWorker): boolean {
    return worker.outstanding === 0 || (this.complete && worker.accepting && worker.outstanding < REQUESTS_PER_WORKER);
  }

  /**
   * The pool has every worker it may have, none still starting: only then does a request wait behind another's run
   * (while a worker starts, the calls wait for it, as they did for the first).
   */
  private get complete(): boolean {
    return this.starting === 0 && this.workers.size >= this.options.maxWorkers;
  }

  private post(worker: SessionWorker, call: WaitingCall): void {
    // A request behind another's run is copied, not moved: if the worker ends first, the request goes to another intact.
    const transfer = worker.outstanding === 0 ? call.transfer : [];
    let outputs: Promise<WireOutputs>;
    try {
      outputs = worker.run(call.request, transfer);
    } catch (error) {
      call.reject(error);
      this.release(worker);
      return;
    }
    outputs.then(
      (value) => call.resolve(value),
      (error: unknown) => (error instanceof RequestNotStarted ? this.requeue(call, error) : call.reject(error)),
    ).finally(() => this.release(worker));
  }

  /** A call whose worker ended before running it waits again, first in line; it fails only if the pool has closed. */
  private requeue(call: WaitingCall, error: RequestNotStarted): void {
    if (this.closed) {
      call.reject(error.ended);
      return;
    }
    this.waiting.unshift(call);
    this.dispatch();
  }

  /**
   * Starts a worker unless those starting already cover every waiting call, or the pool is full, or a worker
   * failed to start while another serves: then the calls wait for the workers there are (a model file deleted
   * or broken after the first session was created would fail every new one).
   */
  private startForWaiting(): void {
    if (this.closed || this.starting >= this.waiting.length || this.workers.size >= this.options.maxWorkers) return;
    if (this.growthFailed && this.serving) return;
    this.start().ready.then(undefined, (error: unknown) => {
      this.growthFailed = true;
      // With no worker left to serve it, a waiting call gets the reason.
      if (!this.serving) this.waiting.shift()?.reject(error);
    });
  }

  /** A worker of the pool has its session and takes requests. */
  private get serving(): boolean {
    for (const worker of this.workers) if (worker.accepting) return true;
    return false;
  }

  /** An idle worker of a closed pool with an equal spec, else a new one. */
  private start(): SessionWorker {
    const onExit = (exited: SessionWorker): void => {
      this.workers.delete(exited);
      const at = this.idle.indexOf(exited);
      if (at >= 0) this.idle.splice(at, 1);
      this.startForWaiting();
    };
    const worker = takeIdleSessionWorker(this.spec, onExit) ?? new SessionWorker(this.spec, onExit);
    this.workers.add(worker);
    this.starting++;
    const started = (): void => {
      this.starting--;
    };
    worker.ready.then(
      () => {
        started();
        this.growthFailed = false;
        this.release(worker);
      },
      started,
    );
    return worker;
  }

  private closedError(): Error {
    return new Error(`${this.options.label}: the session pool is closed`);
  }

  /** A worker is ready or answered a call: it takes the next waiting call, or joins the idle ones once it has none. */
  private release(worker: SessionWorker): void {
    if (this.closed || !this.workers.has(worker)) return;
    while (this.waiting.length > 0 && this.hasRoom(worker)) this.post(worker, this.waiting.shift()!);
    if (worker.outstanding === 0 && !this.idle.includes(worker)) this.idle.push(worker);
  }
}

/** What goes to the worker for a batch, and the buffers that move with it. */
function toRequest(batch: SessionBatch, label: string): { request: RunRequest; transfer: ArrayBuffer[] } {
  if ('inputs' in batch) return { request: { inputs: batch.inputs }, transfer: [] };
  const { wire, transfer } = feedsToWire(batch.feeds, label);
  return { request: { feeds: wire }, transfer };
}
