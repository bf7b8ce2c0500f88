import { availableParallelism } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { SessionWorker, SessionWorkerSpec } from './sessionWorkerHandle.js';

/**
 * Session workers of closed pools, waiting for the next pool of this thread
 * with an equal spec (every job, restart and slot makes new function
 * instances, so new pools): a worker that already created its session and
 * loaded its feeds builder (compiled, for the text embedder's tokenizer)
 * serves at once instead of after a thread start and a session create.
 * Idle workers are unref'd: they never keep the process alive. Oldest first.
 */
const idle: SessionWorker[] = [];

/** Most idle workers with one spec: a pool runs at most one call per core at once. */
const perSpecLimit = (): number => availableParallelism();
/** Most idle workers in all: each holds a session (the model's weights and its arena) in memory. */
const totalLimit = (): number => 2 * availableParallelism();

/** An idle worker created with a spec equal to `spec`, now told of its exit by `onExit`; else undefined. */
export function takeIdleSessionWorker(spec: SessionWorkerSpec, onExit: (worker: SessionWorker) => void): SessionWorker | undefined {
  const at = idle.findIndex((worker) => isDeepStrictEqual(worker.spec, spec));
  if (at < 0) return undefined;
  const [worker] = idle.splice(at, 1) as [SessionWorker];
  worker.adopt(onExit);
  return worker;
}

/**
 * Keeps the reusable workers of a closing pool for the next one, ending the oldest idle ones beyond the limits.
 * Returns the workers the caller must stop: those not reusable, those of a model given as bytes (equal bytes
 * cannot be told apart from a new model without comparing them in full), and those pushed out.
 */
export function parkSessionWorkers(workers: Iterable<SessionWorker>): SessionWorker[] {
  const ending: SessionWorker[] = [];
  for (const worker of workers) {
    if (!worker.reusable || typeof worker.spec.model !== 'string') {
      ending.push(worker);
      continue;
    }
    worker.adopt(leave);
    idle.push(worker);
    const sameSpec = idle.filter((other) => isDeepStrictEqual(other.spec, worker.spec));
    if (sameSpec.length > perSpecLimit()) ending.push(unpark(sameSpec[0]!));
    if (idle.length > totalLimit()) ending.push(unpark(idle[0]!));
  }
  return ending;
}

/** Stops every idle worker (each releases its session and ends); resolves when all have ended. */
export async function endIdleSessionWorkers(): Promise<void> {
  await Promise.all(idle.splice(0).map((worker) => worker.stop()));
}

/** An idle worker whose thread ended (it exited or failed while waiting) leaves the list. */
function leave(worker: SessionWorker): void {
  const at = idle.indexOf(worker);
  if (at >= 0) idle.splice(at, 1);
}

function unpark(worker: SessionWorker): SessionWorker {
  leave(worker);
  return worker;
}
