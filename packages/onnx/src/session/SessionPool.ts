import type { InferenceSession } from 'onnxruntime-node';
import type { FeedsModule } from './feedsModule.js';
import { parkSessionWorkers, takeIdleSessionWorker } from './idleSessionWorkers.js';
import type { SessionBatch, SessionRunner } from './SessionRunner.js';
import { SessionWorker, type Pending, type SessionWorkerSpec } from './sessionWorkerHandle.js';
import { feedsToWire, tensorsFromWire, type RunRequest } from './wire.js';

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
 * flight (the operator's `maxInFlightBatches`). A worker that dies fails
 * its call and leaves the pool; the next call that needs one starts a new one.
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
  private readonly waiting: Pending<SessionWorker>[] = [];
  private starting = 0;
  private closed = false;

  constructor(private readonly options: SessionPoolOptions) {
    const { model, sessionOptions, label, feeds } = options;
    this.spec = { model, sessionOptions, label, feeds };
    this.inputs = this.start().ready;
  }

  /**
   * Runs the session once on an idle worker, waiting for one (or starting one) when all are busy: feeds' buffers move
   * to it; plain inputs are cloned, and the worker's feeds builder builds the feeds there.
   */
  async run(batch: SessionBatch): Promise<InferenceSession.ReturnType> {
    const { request, transfer } = toRequest(batch, this.options.label);
    const worker = this.idle.pop() ?? (await this.acquire());
    try {
      return tensorsFromWire(await worker.run(request, transfer));
    } finally {
      this.release(worker);
    }
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

  private acquire(): Promise<SessionWorker> {
    if (this.closed) return Promise.reject(this.closedError());
    const worker = new Promise<SessionWorker>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.startForWaiting();
    return worker;
  }

  /** Starts a worker unless those starting already cover every waiting call, or the pool is full. */
  private startForWaiting(): void {
    if (this.closed || this.starting >= this.waiting.length || this.workers.size >= this.options.maxWorkers) return;
    this.start().ready.then(undefined, (error: unknown) => this.waiting.shift()?.reject(error));
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
        this.release(worker);
      },
      started,
    );
    return worker;
  }

  private closedError(): Error {
    return new Error(`${this.options.label}: the session pool is closed`);
  }

  private release(worker: SessionWorker): void {
    if (this.closed || !this.workers.has(worker)) return;
    const next = this.waiting.shift();
    if (next === undefined) this.idle.push(worker);
    else next.resolve(worker);
  }
}

/** What goes to the worker for a batch, and the buffers that move with it. */
function toRequest(batch: SessionBatch, label: string): { request: RunRequest; transfer: ArrayBuffer[] } {
  if ('inputs' in batch) return { request: { inputs: batch.inputs }, transfer: [] };
  const { wire, transfer } = feedsToWire(batch.feeds, label);
  return { request: { feeds: wire }, transfer };
}
