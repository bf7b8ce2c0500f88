import type { JobClient, JobEvent, JobExecutionResult, JobGraphView, LogFields } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { JobTracker } from '../src/JobTracker.js';

const GRAPH: JobGraphView = { operators: [], edges: [], vertices: [] };

/** A client whose events and end the test drives. */
function fakeClient() {
  const listeners = new Set<(event: JobEvent) => void>();
  let settle!: { resolve: (r: JobExecutionResult) => void; reject: (e: unknown) => void };
  const result = new Promise<JobExecutionResult>((resolve, reject) => (settle = { resolve, reject }));
  const client = {
    jobName: 'orders',
    jobId: 'f'.repeat(32),
    status: 'running',
    result,
    graph: () => GRAPH,
    onEvent(listener: (event: JobEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as JobClient & { status: string };
  return {
    client,
    listeners,
    emit: (fields: LogFields) => listeners.forEach((l) => l({ level: 'info', message: '', fields })),
    settle,
  };
}

describe('JobTracker', () => {
  it('keeps restarts with operator, task, subtask and cause, checkpoints completed and failed, and the restore', () => {
    const { client, emit } = fakeClient();
    let now = 5_000;
    const tracker = new JobTracker(client, () => now);
    emit({ event: 'job.restored', checkpointId: 4, location: '/ckpt/chk-4' });
    emit({ event: 'checkpoint.completed', checkpointId: 5, location: '/ckpt/chk-5', sizeBytes: 700, durationMs: 12, alignmentMs: 3.5, final: false });
    now = 6_000;
    emit({ event: 'checkpoint.failed', checkpointId: 6, cause: 'disk full', final: false });
    emit({ event: 'job.restarting', operator: "'enrich'", task: 'enrich (2/2)', subtask: 1, cause: 'model not found', delayMs: 100, attempt: 1, fromCheckpointId: 5 });
    emit({ event: 'async.throttled', limit: 2 });
    const view = tracker.view();
    expect(view).toMatchObject({ jobId: client.jobId, name: 'orders', status: 'running', runtimeMs: 1000, restoredFrom: { checkpointId: 4, location: '/ckpt/chk-4' }, failure: null });
    expect(view.checkpoints).toEqual([
      { checkpointId: 5, time: 5000, status: 'completed', durationMs: 12, alignmentMs: 3.5, sizeBytes: 700, location: '/ckpt/chk-5', cause: null, final: false },
      { checkpointId: 6, time: 6000, status: 'failed', durationMs: null, alignmentMs: null, sizeBytes: null, location: null, cause: 'disk full', final: false },
    ]);
    expect(view.restarts).toEqual([
      { time: 6000, attempt: 1, operator: "'enrich'", task: 'enrich (2/2)', subtask: 1, cause: 'model not found', delayMs: 100, fromCheckpointId: 5 },
    ]);
  });

  it('keeps the last 100 checkpoints, and counts every one', () => {
    const { client, emit } = fakeClient();
    const tracker = new JobTracker(client, () => 0);
    for (let id = 1; id <= 130; id++) emit({ event: 'checkpoint.completed', checkpointId: id, durationMs: 1, sizeBytes: 1 });
    emit({ event: 'checkpoint.failed', checkpointId: 131, cause: 'disk full' });
    const view = tracker.view();
    const ids = view.checkpoints.map((c) => c.checkpointId);
    expect([ids.length, ids[0], ids.at(-1)]).toEqual([100, 32, 131]);
    // The page shows these counts: before, it counted the kept 100 ("99 completed").
    expect(view.checkpointCounts).toEqual({ completed: 130, failed: 1 });
  });

  it('keeps the last 100 restarts, each with its attempt number', () => {
    const { client, emit } = fakeClient();
    const tracker = new JobTracker(client, () => 0);
    for (let attempt = 1; attempt <= 250; attempt++) emit({ event: 'job.restarting', cause: 'flaky', delayMs: 0, attempt });
    const attempts = tracker.view().restarts.map((r) => r.attempt);
    expect([attempts.length, attempts[0], attempts.at(-1)]).toEqual([100, 151, 250]);
  });

  it("takes the job's own runtime when it ends, and the failure's message when it fails", async () => {
    const ended = fakeClient();
    const finished = new JobTracker(ended.client, () => 0);
    ended.settle.resolve({ runtimeMs: 1234, restoredFrom: undefined } as JobExecutionResult);
    await finished.ended;
    expect(finished.view().runtimeMs).toBe(1234);

    const failing = fakeClient();
    let now = 0;
    const failed = new JobTracker(failing.client, () => now);
    now = 300;
    failing.settle.reject(new Error("Job 'orders' failed after 2 restarts in operator 'enrich': model not found"));
    await failed.ended;
    expect(failed.view()).toMatchObject({ runtimeMs: 300, failure: "Job 'orders' failed after 2 restarts in operator 'enrich': model not found" });
  });

  it('stops listening when closed', () => {
    const { client, listeners } = fakeClient();
    const tracker = new JobTracker(client);
    expect(listeners.size).toBe(1);
    tracker.close();
    expect(listeners.size).toBe(0);
  });
});
