import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { FeedsModule } from './feedsModule.js';
import { forgetRunCell, runCell } from './runsAtExit.js';
import type { SessionBatch, SessionRunner } from './SessionRunner.js';
import {
  errorFromWire,
  feedsToWire,
  tensorsFromWire,
  type RunRequest,
  type SessionWorkerData,
  type StopRequest,
  type WireTensor,
  type WorkerReply,
} from './wire.js';

/** The worker's entry: next to this module, in the language it runs in (TypeScript under a loader in tests), as a slot's. */
const SESSION_WORKER_ENTRY = new URL(`./sessionWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

type Outputs = Readonly<Record<string, WireTensor>>;

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** One worker thread holding one inference session; runs one request at a time. */
class SessionWorker {
  /** The model's inputs once the session exists; rejects if it cannot be created or the thread stops first. */
  readonly ready: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly thread: Worker;
  private readonly exited: Promise<void>;
  /** 1 while a run is out (see runsAtExit): set here when posted, cleared by the worker when its run returns. */
  private readonly busy = runCell();
  private opening: Pending<readonly InferenceSession.ValueMetadata[]> | undefined;
  private call: Pending<Outputs> | undefined;
  /** The uncaught error the thread reported, named when it then exits. */
  private failure: Error | undefined;
  /** Asked to end: the thread keeps the process alive until it has (whoever awaits `stop()` needs its exit). */
  private stopping = false;

  constructor(data: Omit<SessionWorkerData, 'busy'>, onExit: (worker: SessionWorker) => void) {
    this.ready = new Promise((resolve, reject) => (this.opening = { resolve, reject }));
    // Observed by whoever waits for this worker; a pool closed while it starts must not leave it unhandled.
    this.ready.catch(() => undefined);
    const workerData: SessionWorkerData = { ...data, busy: this.busy };
    this.thread = new Worker(SESSION_WORKER_ENTRY, { workerData });
    this.thread.on('message', (reply: WorkerReply) => {
      if (reply.kind === 'ready') {
        this.idle();
        this.opening?.resolve(reply.inputs);
      } else if (reply.kind === 'failed') {
        this.opening?.reject(new Error(reply.message));
      } else {
        const call = this.call;
        this.call = undefined;
        this.idle();
        if (reply.kind === 'result') call?.resolve(reply.outputs);
        else call?.reject(errorFromWire(reply));
      }
    });
    this.thread.on('error', (error) => (this.failure = error));
    this.exited = new Promise((resolve) => this.thread.on('exit', () => resolve()));
    this.thread.on('exit', (code) => {
      forgetRunCell(this.busy);
      const detail = this.failure === undefined ? `exited with code ${code}` : `failed: ${this.failure.message}`;
      const error = new Error(`${data.label}: the inference worker thread ${detail}`, { cause: this.failure });
      this.opening?.reject(error);
      this.call?.reject(error);
      this.call = undefined;
      onExit(this);
    });
  }

  /** Runs the session once; the thread keeps the process alive only while a request is out. */
  run(request: RunRequest, transfer: readonly ArrayBuffer[]): Promise<Outputs> {
    const result = new Promise<Outputs>((resolve, reject) => (this.call = { resolve, reject }));
    this.thread.ref();
    Atomics.store(this.busy, 0, 1);
    try {
      this.thread.postMessage(request, transfer);
    } catch (error) {
      // Nothing was sent (a feed that cannot be cloned): the worker stays idle.
      Atomics.store(this.busy, 0, 0);
      this.call = undefined;
      this.idle();
      throw error;
    }
    return result;
  }

  /** Nothing out: an idle worker does not keep the process alive, unless it is stopping. */
  private idle(): void {
    if (!this.stopping) this.thread.unref();
  }

  /** Asks the worker to release its session and end, once it is idle; resolves when the thread has ended. */
  async stop(): Promise<void> {
    // Never `terminate()`: onnxruntime-node aborts the process when a thread is torn down during a run.
    this.stopping = true;
    this.thread.ref();
    this.thread.postMessage({ stop: true } satisfies StopRequest);
    await this.exited;
  }
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
 * flight (the operator's `maxInFlightBatches`). A worker that dies fails
 * its call and leaves the pool; the next call that needs one starts a new one.
 */
export class SessionPool implements SessionRunner {
  /** The model's inputs, from the first worker's session: rejects when that session cannot be created. */
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly data: Omit<SessionWorkerData, 'busy'>;
  private readonly workers = new Set<SessionWorker>();
  private readonly idle: SessionWorker[] = [];
  /** Calls waiting for a worker, first come first served. */
  private readonly waiting: Pending<SessionWorker>[] = [];
  private starting = 0;
  private closed = false;

  constructor(private readonly options: SessionPoolOptions) {
    const { model, sessionOptions, label, feeds } = options;
    this.data = { model, sessionOptions, label, feeds };
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
   * Stops every worker: each releases its session and ends after the run it
   * has (a run cannot be interrupted), or once its session exists if it is
   * still starting. Calls still waiting for a worker are rejected.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const call of this.waiting.splice(0)) call.reject(this.closedError());
    await Promise.all([...this.workers].map((worker) => worker.stop()));
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

  private start(): SessionWorker {
    const worker = new SessionWorker(this.data, (exited) => {
      this.workers.delete(exited);
      const at = this.idle.indexOf(exited);
      if (at >= 0) this.idle.splice(at, 1);
      this.startForWaiting();
    });
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
