// The main thread's side of a session worker (sessionWorker.ts is the thread's entry).
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { forgetRunCell, runCell } from './runsAtExit.js';
import { errorFromWire, type RunRequest, type SessionWorkerData, type StopRequest, type WireTensor, type WorkerReply } from './wire.js';

/** The worker's entry: next to this module, in the language it runs in (TypeScript under a loader in tests), as a slot's. */
const SESSION_WORKER_ENTRY = new URL(`./sessionWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A session run's outputs as they come back from the worker. */
export type WireOutputs = Readonly<Record<string, WireTensor>>;

/** What a session worker is created from: equal data makes an equal worker (see idleSessionWorkers). */
export type SessionWorkerSpec = Omit<SessionWorkerData, 'busy'>;

/** A promise's settle functions, kept until its answer comes. */
export interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A request posted behind another whose worker ended first: it never ran, so the pool may send it again. */
export class RequestNotStarted extends Error {
  constructor(readonly ended: Error) {
    super(`${ended.message} before it started this request`, { cause: ended });
    this.name = 'RequestNotStarted';
  }
}

/** One worker thread holding one inference session; runs its requests one at a time, in the order they were posted. */
export class SessionWorker {
  /** The model's inputs once the session exists; rejects if it cannot be created or the thread stops first. */
  readonly ready: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly thread: Worker;
  private readonly exited: Promise<void>;
  /** The runs out (see runsAtExit): one added here per request posted, one taken off by the worker as each returns. */
  private readonly busy = runCell();
  private opening: Pending<readonly InferenceSession.ValueMetadata[]> | undefined;
  /** The requests posted and not answered, oldest first: the worker answers in order. */
  private readonly calls: Pending<WireOutputs>[] = [];
  /** The uncaught error the thread reported, named when it then exits. */
  private failure: Error | undefined;
  /** Asked to end: the thread keeps the process alive until it has (whoever awaits `stop()` needs its exit). */
  private stopping = false;
  /** A run of it failed: its thread may hold what broke that run, so it is never handed to another pool. */
  private runFailed = false;
  private ended = false;

  /** What its session and feeds builder were made from; the options copied, so that the caller changing them later does not. */
  readonly spec: SessionWorkerSpec;

  constructor(
    spec: SessionWorkerSpec,
    /** Told when the thread has ended: the pool (or idle list) holding the worker at that time. */
    private onExit: (worker: SessionWorker) => void,
  ) {
    this.spec = { ...spec, sessionOptions: structuredClone(spec.sessionOptions), feeds: structuredClone(spec.feeds) };
    this.ready = new Promise((resolve, reject) => (this.opening = { resolve, reject }));
    // Observed by whoever waits for this worker; a pool closed while it starts must not leave it unhandled.
    this.ready.catch(() => undefined);
    const workerData: SessionWorkerData = { ...spec, busy: this.busy };
    this.thread = new Worker(SESSION_WORKER_ENTRY, { workerData });
    this.thread.on('message', (reply: WorkerReply) => {
      if (reply.kind === 'ready') {
        this.idle();
        this.opening?.resolve(reply.inputs);
        this.opening = undefined;
      } else if (reply.kind === 'failed') {
        this.opening?.reject(new Error(reply.message));
        this.opening = undefined;
      } else {
        const call = this.calls.shift();
        if (this.calls.length === 0) this.idle();
        if (reply.kind === 'result') call?.resolve(reply.outputs);
        else {
          this.runFailed = true;
          call?.reject(errorFromWire(reply));
        }
      }
    });
    // An uncaught error ends the thread: its `exit` follows and tells the holder.
    this.thread.on('error', (error) => (this.failure = error));
    this.exited = new Promise((resolve) => this.thread.on('exit', () => resolve()));
    this.thread.on('exit', (code) => {
      this.ended = true;
      forgetRunCell(this.busy);
      const detail = this.failure === undefined ? `exited with code ${code}` : `failed: ${this.failure.message}`;
      const error = new Error(`${spec.label}: the inference worker thread ${detail}`, { cause: this.failure });
      this.opening?.reject(error);
      // The worker runs its requests in order: only the oldest can have started; those behind it go back to the pool.
      const [running, ...behind] = this.calls.splice(0);
      running?.reject(error);
      for (const call of behind) call.reject(new RequestNotStarted(error));
      this.onExit(this);
    });
  }

  /** Healthy and idle: its session exists, no run is out, none failed, and nothing asked it to end. */
  get reusable(): boolean {
    return this.accepting && this.calls.length === 0 && !this.runFailed;
  }

  /** Ready for requests: its session exists and it neither ended nor was asked to end. */
  get accepting(): boolean {
    return this.opening === undefined && !this.stopping && !this.ended && this.failure === undefined;
  }

  /** Requests posted and not yet answered: the one running and those waiting behind it. */
  get outstanding(): number {
    return this.calls.length;
  }

  /** Hands the worker to a new holder, told of its exit from now on. */
  adopt(onExit: (worker: SessionWorker) => void): void {
    this.onExit = onExit;
  }

  /** Runs the session once, after the requests already out; the thread keeps the process alive only while a request is out. */
  run(request: RunRequest, transfer: readonly ArrayBuffer[]): Promise<WireOutputs> {
    let call!: Pending<WireOutputs>;
    const result = new Promise<WireOutputs>((resolve, reject) => (call = { resolve, reject }));
    this.thread.ref();
    Atomics.add(this.busy, 0, 1);
    try {
      this.thread.postMessage(request, transfer);
    } catch (error) {
      // Nothing was sent (a feed that cannot be cloned): the worker has only the requests it had.
      Atomics.sub(this.busy, 0, 1);
      if (this.calls.length === 0) this.idle();
      throw error;
    }
    this.calls.push(call);
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
