// Preloaded into every test process (vitest.shared.ts), so also into the worker threads it starts: a
// slot's worker imports the workspace's TypeScript (core's sources, test job modules) through tsx's
// loader, registered in the thread itself (Node 20 does not pass a preload's hooks on to workers).
// The test process needs nothing: vitest transforms its modules.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
}
