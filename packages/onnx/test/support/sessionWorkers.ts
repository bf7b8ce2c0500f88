import type { Worker } from 'node:worker_threads';
import { onTestFinished } from 'vitest';
import type { RunRequest, WorkerReply } from '../../src/session/wire.js';

/** A session worker thread the code under test started, as the test sees it from the main thread. */
export interface WatchedWorker {
  readonly thread: Worker;
  /** Requests posted to it, in order: one per session run. */
  readonly requests: RunRequest[];
  /** Replies it sent, in order (`ready` or `failed` first). */
  readonly replies: WorkerReply[];
  /** The thread's exit code once it stopped. */
  exitCode: number | undefined;
}

/**
 * Records every worker thread started from now until the end of the test
 * (Node's `process` `worker` event), with the requests it received, its
 * replies and its exit. Call inside a test.
 */
export function watchSessionWorkers(): WatchedWorker[] {
  const workers: WatchedWorker[] = [];
  const onWorker = (thread: Worker) => {
    const watched: WatchedWorker = {
      thread,
      requests: [],
      replies: [],
      exitCode: undefined,
    };
    const post = thread.postMessage.bind(thread);
    thread.postMessage = (message: RunRequest, transfer?: never) => {
      watched.requests.push(message);
      post(message, transfer);
    };
    thread.on('message', (reply: WorkerReply) => watched.replies.push(reply));
    thread.on('exit', (code) => (watched.exitCode = code));
    workers.push(watched);
  };
  process.on('worker', onWorker);
  onTestFinished(() => {
    process.off('worker', onWorker);
  });
  return workers;
}
