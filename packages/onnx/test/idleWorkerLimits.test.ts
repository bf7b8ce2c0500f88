import type { Tensor } from 'onnxruntime-node';
import type * as os from 'node:os';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, expect, it, vi } from 'vitest';
import { OnnxBatchFunction } from '../src/batch/OnnxBatchFunction.js';
import { SessionFeeds } from '../src/session/feedsModule.js';
import { LINEAR_MODEL } from './support/linearModel.js';
import { endIdleWorkersAfterEach, watchSessionWorkers, type WatchedWorkers } from './support/sessionWorkers.js';
import { useTempModel } from './support/tempModel.js';

// A machine of 2 cores, whatever runs the test: at most 2 idle workers per spec and 4 in all.
vi.mock('node:os', async (original) => ({ ...(await original<typeof os>()), availableParallelism: () => 2 }));

const model = useTempModel();
endIdleWorkersAfterEach();

let linearPath = '';
beforeAll(async () => {
  linearPath = join(dirname(model().path), 'linear.onnx');
  await writeFile(linearPath, LINEAR_MODEL);
});

/** A batch function over the linear model with up to `maxWorkers` workers; `scale` makes specs that differ. */
function linear(maxWorkers: number, scale: number): OnnxBatchFunction<string, number> {
  return new OnnxBatchFunction<string, number>({
    model: linearPath,
    name: 'linear',
    maxWorkers,
    sessionOptions: { intraOpNumThreads: 1 },
    feeds: new SessionFeeds({ module: new URL('./fixtures/threadFeeds.ts', import.meta.url).href, name: 'threadFeeds', options: { scale } }, (rows) => [...rows]),
    outputs: (results) => Array.from((results['y'] as Tensor).data as Float32Array).filter((_, i) => i % 2 === 0),
  });
}

/**
 * Runs `count` calls at once on a new instance, so that its pool has `count` workers (a call that finds every
 * worker busy starts one), and closes it once every worker it started is ready (a starting worker is not idle).
 */
async function runOnWorkers(watched: WatchedWorkers, count: number, scale: number): Promise<void> {
  const fn = linear(count, scale);
  await Promise.all(Array.from({ length: count }, () => fn.invoke(['a'])));
  await Promise.all(watched.map((w) => w.ready));
  await fn.close();
}

const exited = (workers: WatchedWorkers) => workers.map((w) => w.exitCode !== undefined);

it('keeps at most availableParallelism() idle workers of one spec: the rest end at close', async () => {
  const workers = watchSessionWorkers();
  await runOnWorkers(workers, 3, 1);
  expect(workers).toHaveLength(3);
  expect(exited(workers).filter(Boolean)).toHaveLength(1);
  // The two that wait serve the next instance of the spec: three calls at once start only one thread.
  await runOnWorkers(workers, 3, 1);
  expect(workers).toHaveLength(4);
});

it('keeps at most twice availableParallelism() idle workers in all: the oldest end first', async () => {
  const workers = watchSessionWorkers();
  await runOnWorkers(workers, 2, 1);
  await runOnWorkers(workers, 2, 2);
  expect(exited(workers)).toEqual([false, false, false, false]);
  await runOnWorkers(workers, 2, 3);
  expect(exited(workers)).toEqual([true, true, false, false, false, false]);
});
