import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../Clock.js';

/** The worker's entry: next to this module, in the language it runs in (TypeScript under a loader in tests). */
const SLOT_ENTRY = new URL(`./slotWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

interface IdleWorker {
  readonly worker: Worker;
  readonly heapMb: number | undefined;
  /** Takes the worker out of the pool when it ends or throws while idle. */
  readonly gone: () => void;
}

/**
 * Slot threads whose job finished cleanly, waiting for the next job of this
 * process: a thread that already loaded core and compiled its hot code starts
 * a slot in a message instead of a thread start and a module load (see
 * docs/internals.md). Idle threads do not keep the process alive; at most one
 * per core waits.
 */
const idle: IdleWorker[] = [];

/** A thread for one slot of an attempt: an idle one with the same heap limit, else a new one. */
export function acquireSlotWorker(heapMb: number | undefined): Worker {
  const index = idle.findIndex((w) => w.heapMb === heapMb);
  if (index >= 0) {
    const [{ worker, gone }] = idle.splice(index, 1) as [IdleWorker];
    worker.off('exit', gone);
    worker.off('error', gone);
    worker.ref();
    return worker;
  }
  return new Worker(SLOT_ENTRY, heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
}

/**
 * A thread whose slot finished every task and left nothing running: it waits
 * for the next job (ended when the pool is full). The caller removed its own listeners.
 */
export function releaseSlotWorker(worker: Worker, heapMb: number | undefined): void {
  if (idle.length >= availableParallelism()) {
    void worker.terminate();
    return;
  }
  const entry: IdleWorker = {
    worker,
    heapMb,
    gone: () => {
      const at = idle.indexOf(entry);
      if (at >= 0) idle.splice(at, 1);
      void worker.terminate();
    },
  };
  worker.on('exit', entry.gone);
  worker.on('error', entry.gone);
  worker.unref();
  idle.push(entry);
}

/** Ports close with the transport, immediates end by themselves, and an open file handle calls back at most once. */
const ENDS_BY_ITSELF = new Set(['MessagePort', 'Immediate', 'FileHandle']);

/**
 * File requests call back once, but what awaits them may go on (a chain of requests, a rejection): a finished job's
 * thread waits for them to settle, up to this long, before deciding (a loader writing its cache leaves one pending
 * after a thread's first job).
 */
const FILE_REQUESTS = new Set(['FSReqCallback', 'FSReqPromise', 'CloseReq']);
const SETTLE_LIMIT_MS = 1_000;

/**
 * What a finished job left in its thread that would run during the next one (a timer, socket, child process,
 * a file request still pending), from `process.getActiveResourcesInfo()`: a thread with any of it is not reused.
 */
export function leftRunning(resources: readonly string[]): string[] {
  return resources.filter((type) => !ENDS_BY_ITSELF.has(type));
}

/**
 * {@link leftRunning} once this thread's file requests have settled, or after SETTLE_LIMIT_MS with them still pending.
 * What their callbacks throw meanwhile fails the job that left them, whose slot has not yet reported `done`.
 */
export async function leftRunningOnceSettled(clock: Clock): Promise<string[]> {
  const deadline = clock.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const resources = process.getActiveResourcesInfo();
    if (!resources.some((type) => FILE_REQUESTS.has(type)) || clock.now() >= deadline) return leftRunning(resources);
    await new Promise<void>((resolve) => clock.schedule(clock.now() + 1, resolve));
  }
}
