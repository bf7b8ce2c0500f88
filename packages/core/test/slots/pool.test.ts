import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { leftRunning } from '../../src/runtime/slots/slotWorkers.js';
import { countedInThreads, type Counted } from './fixtures/pooled.job.js';

// Slot threads of a finished job wait for the next job of the process (slotWorkers.ts): these tests
// prove they are reused, that nothing of a job reaches the next one, and which threads are never reused.

const N = 3000;
const KEYS = 7;
const threadsOf = (rows: readonly Counted[]) => [...new Set(rows.map((r) => r.thread))].sort((a, b) => a - b);
/** The pool keeps one idle thread per core: a 2-slot job finds as many of its threads again. */
const REUSED = Math.min(2, availableParallelism());

/** Every record once, its count its rank among its key's records: keyed state started empty. */
function expectCountedFromScratch(rows: readonly Counted[]) {
  expect(rows.map((r) => r.n).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
  const counts = rows.map((r) => [r.n, r.count]).sort((a, b) => (a[0] as number) - (b[0] as number));
  expect(counts).toEqual(Array.from({ length: N }, (_, n) => [n, Math.floor(n / KEYS) + 1]));
}

describe('the pool of slot threads', { timeout: 60_000 }, () => {
  it('runs the next job in the threads of a finished one, with its keyed state and metrics fresh', async () => {
    const first = await countedInThreads.executeAndCollect({ n: N, keys: KEYS });
    const result = await countedInThreads.execute({ n: N, keys: KEYS, discard: true });
    // The metrics of the second job count its own records only.
    expect(result.operators.find((o) => o.name === 'count')?.recordsIn).toBe(N);
    const second = await countedInThreads.executeAndCollect({ n: N, keys: KEYS });
    expectCountedFromScratch(first);
    expectCountedFromScratch(second);
    expect(threadsOf(first)).toHaveLength(2);
    expect(threadsOf(second).filter((t) => threadsOf(first).includes(t))).toHaveLength(REUSED);
  });

  // What a thread can hold when its job ends (process.getActiveResourcesInfo()), once its file requests had their
  // time to settle (a loader's file write is pending after a thread's first job, and gone a moment later).
  it.each([
    [['MessagePort', 'MessagePort'], []],
    [['FileHandle', 'Immediate', 'MessagePort'], []],
    [['CloseReq', 'FSReqCallback', 'MessagePort', 'MessagePort'], ['CloseReq', 'FSReqCallback']],
    [['FileHandle', 'FSReqPromise', 'Immediate'], ['FSReqPromise']],
    [['MessagePort', 'Timeout'], ['Timeout']],
    [['TCPSocketWrap', 'FSReqCallback', 'ProcessWrap'], ['TCPSocketWrap', 'FSReqCallback', 'ProcessWrap']],
  ])('a thread left with %j holds %j that would run during the next job', (resources, running) => {
    expect(leftRunning(resources)).toEqual(running);
  });

  it('ends the threads of a failed attempt: the next job runs in others', async () => {
    const failure = await countedInThreads.executeAndCollect({ n: N, keys: KEYS, failAt: 1234 }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    const failed = Number(/failed in thread (\d+)/.exec(failure?.message ?? '')?.[1]);
    expect(failed).toBeGreaterThan(0);
    const next = await countedInThreads.executeAndCollect({ n: N, keys: KEYS });
    expectCountedFromScratch(next);
    expect(threadsOf(next)).not.toContain(failed);
  });

  it('waits for the file requests a finished job left: what they throw fails that job, and the next job runs in other threads', async () => {
    const failure = await countedInThreads.executeAndCollect({ n: N, keys: KEYS, leaveFileWork: true }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(/crashed: file work left by a finished job failed in thread \d+/);
    const failed = Number(/failed in thread (\d+)/.exec(failure?.message ?? '')?.[1]);
    const next = await countedInThreads.executeAndCollect({ n: N, keys: KEYS });
    expectCountedFromScratch(next);
    expect(threadsOf(next)).not.toContain(failed);
  });

  it('ends a thread in which the job left a timer running: the next job runs in others', async () => {
    const leaky = await countedInThreads.executeAndCollect({ n: N, keys: KEYS, leaveTimer: true });
    const next = await countedInThreads.executeAndCollect({ n: N, keys: KEYS });
    expectCountedFromScratch(leaky);
    expect(threadsOf(next).filter((t) => threadsOf(leaky).includes(t))).toEqual([]);
  });
});
