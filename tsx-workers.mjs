// Preloaded (--import) into every test process (vitest.shared.ts) and the crash test's job, so also into
// the worker threads they start: a slot's worker imports the workspace's TypeScript (core's sources, job
// modules) through tsx's loader, registered in the thread itself (Node 20 does not pass a preload's
// hooks on to workers). The main thread needs nothing from it: vitest, or tsx itself, handles it.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
}
