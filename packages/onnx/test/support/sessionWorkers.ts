import type { Worker } from 'node:worker_threads';
import { afterEach, onTestFinished } from 'vitest';
import { endIdleSessionWorkers } from '../../src/session/idleSessionWorkers.js';
import type { RunRequest, StopRequest, WorkerReply } from '../../src/session/wire.js';

/** A session worker thread the code under test started, as the test sees it from the main thread. */
export interface WatchedWorker {
  readonly thread: Worker;
  /** Requests posted to it, in order: one per session run. */
  readonly requests: RunRequest[];
  /** Replies it sent, in order (`ready` or `failed` first). */
  readonly replies: WorkerReply[];
  /** Resolves when its session exists (its `ready` reply). */
  readonly ready: Promise<void>;
  /** The thread's exit code once it stopped. */
  exitCode: number | undefined;
}

/** The watched workers, in start order, and one log of what every one of them did, in the order the main thread saw it. */
export type WatchedWorkers = WatchedWorker[] & {
  /** `request <n>` / `stop <n>` when a request is posted to worker n, `<kind> <n>` for each of its replies, `exit <n>`. */
  readonly events: string[];
};

/**
 * Records every worker thread started from now until the end of the test
 * (Node's `process` `worker` event), with the requests it received, its
 * replies and its exit. `onRequest` runs just before each request is
 * posted: stopping the thread there kills it while its call waits (stopping
 * it during a run would abort the whole process: onnxruntime-node throws a
 * C++ exception when its thread is torn down mid-run). Call inside a test.
 */
export function watchSessionWorkers(onRequest?: (worker: WatchedWorker) => void): WatchedWorkers {
  const workers: WatchedWorkers = Object.assign([] as WatchedWorker[], { events: [] as string[] });
  let watching = true;
  const onWorker = (thread: Worker) => {
    const n = workers.length;
    let ready!: () => void;
    const watched: WatchedWorker = {
      thread,
      requests: [],
      replies: [],
      ready: new Promise<void>((resolve) => (ready = resolve)),
      exitCode: undefined,
    };
    const post = thread.postMessage.bind(thread);
    thread.postMessage = (message: RunRequest | StopRequest, transfer?: never) => {
      // A worker left idle outlives the test: a later one must not see its requests killed.
      if (!watching) return post(message, transfer);
      if ('stop' in message) {
        workers.events.push(`stop ${n}`);
      } else {
        watched.requests.push(message);
        workers.events.push(`request ${n}`);
        onRequest?.(watched);
      }
      post(message, transfer);
    };
    thread.on('message', (reply: WorkerReply) => {
      watched.replies.push(reply);
      workers.events.push(`${reply.kind} ${n}`);
      if (reply.kind === 'ready') ready();
    });
    thread.on('exit', (code) => {
      watched.exitCode = code;
      workers.events.push(`exit ${n}`);
    });
    workers.push(watched);
  };
  process.on('worker', onWorker);
  onTestFinished(() => {
    watching = false;
    process.off('worker', onWorker);
  });
  return workers;
}

/**
 * Ends the session workers each test of the file left idle, so that the next
 * test starts (and watches) workers of its own. Call at the top of a test file.
 */
export function endIdleWorkersAfterEach(): void {
  afterEach(() => endIdleSessionWorkers());
}

/** The texts a text embedder's request brought to its worker; throws if it brought tensors instead (tokenized on the caller). */
export function requestTexts(request: RunRequest): readonly string[] {
  if (!('inputs' in request)) throw new Error(`the request brought feeds built by the caller (${Object.keys(request.feeds).join(', ')}), not texts`);
  return request.inputs as readonly string[];
}
