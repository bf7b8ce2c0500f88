import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { deserialize, serialize } from 'node:v8';
import {
  FileCheckpointStorage,
  HeapKeyedStateBackend,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type CompletedCheckpoint,
  type KeyedStateSnapshot,
  type Source,
  type SourceReader,
} from '@tributary/core';
import type { CheckpointProbe, CheckpointScenario, ProbeRun } from '../harness/checkpointRunner.js';
import type { CpuScenario } from '../harness/cpuRunner.js';
import type { Checksum, RunStats } from '../harness/model.js';
import { TempDirs } from '../harness/tempDirs.js';
import { TriggerClock } from '../harness/triggerClock.js';
import { runKeyedRunningSumJob, S4_JOB } from './keyedRunningSum.js';
import { runningSumFunction, RUNNING_SUM_STATE } from './keyedSumWorkload.js';
import { runMapFilterMapJob, S3_JOB } from './mapFilterMap.js';

/** Issue 5: "checkpointing every 100 ms". */
export const CK_INTERVAL_MS = 100;
/** The name CK's keyed job runs under: its checkpoint metrics are in `job.<name>.checkpoints`. */
export const CK_JOB = 'CK keyed ValueState';

/** Key of record `i`: every record has its own key, so `n` records leave `n` keys in state. */
export const ckKey = (i: number): string => `user-${i}`;

/**
 * Reads 0..keys-1, then holds its next read open until {@link end}: the
 * job stays up with every key in state, and a barrier requested meanwhile
 * passes at once (the task injects it while the read waits).
 */
class HeldSource implements Source<number, number> {
  readonly parallel = false;
  private release: () => void = () => undefined;
  private readonly held = new Promise<null>((resolve) => {
    this.release = () => resolve(null);
  });

  constructor(private readonly keys: number) {}

  createReader(): SourceReader<number, number> {
    let next = 0;
    return {
      read: (max) => {
        if (next >= this.keys) return this.held;
        const end = Math.min(this.keys, next + max);
        const chunk = new Array<number>(end - next);
        for (let i = 0; next < end; i++) chunk[i] = next++;
        return chunk;
      },
      position: () => next,
    };
  }

  /** Ends the input: the job finishes (and takes its final checkpoint). */
  end(): void {
    this.release();
  }
}

/** Keys in the CK state and the sum of their values. */
function stateChecksum(snapshot: KeyedStateSnapshot | undefined): Checksum {
  const entries = snapshot?.states[RUNNING_SUM_STATE]?.entries ?? [];
  let sum = 0;
  for (const [, value] of entries) sum += value as number;
  return { count: entries.length, sum };
}

function checkpointChecksum(checkpoint: CompletedCheckpoint): Checksum {
  let count = 0;
  let sum = 0;
  for (const operator of Object.values(checkpoint.operators)) {
    for (const subtask of operator.subtasks) {
      const c = stateChecksum(subtask.keyedState);
      count += c.count;
      sum += c.sum;
    }
  }
  return { count, sum };
}

/** Where FileCheckpointStorage puts checkpoint `id` (the name fault-tolerance.md documents). */
const checkpointFile = (dir: string, id: number): string => join(dir, `chk-${String(id).padStart(10, '0')}.ckpt`);

/**
 * One run of CK's job: loads `keys` keys into `ValueState`, triggers one
 * periodic checkpoint, and reads the core's own figures for it (trigger to
 * completion, bytes stored) from the environment's metrics. Returns them
 * with the checkpoint as read back from its file.
 */
async function checkpointJob(keys: number, dir: string): Promise<{ run: ProbeRun; checkpoint: CompletedCheckpoint }> {
  const clock = new TriggerClock();
  const env = StreamExecutionEnvironment.create({ parallelism: 1, clock });
  env.enableCheckpointing(CK_INTERVAL_MS, { storage: dir });
  const source = new HeldSource(keys);
  let delivered = 0;
  let allIn: () => void = () => undefined;
  const loaded = new Promise<void>((resolve) => (allIn = resolve));
  env
    .fromSource(source, 'Source: keys')
    .keyBy(ckKey)
    .map(runningSumFunction())
    .uid('sums')
    .addSink(() => {
      if (++delivered === keys) allIn();
    });
  const client = env.executeAsync(CK_JOB);
  const endedFirst = client.result.then(() => {
    throw new Error(`${CK_JOB}: the job ended before its checkpoint completed`);
  });
  endedFirst.catch(() => undefined);

  await Promise.race([loaded, endedFirst]);
  // The coordinator schedules the next checkpoint as soon as one completes: that call is the completion.
  const completed = clock.nextSchedule();
  const triggered = clock.fire();
  if (triggered !== 1) throw new Error(`${CK_JOB}: expected one scheduled checkpoint, found ${triggered}`);
  await Promise.race([completed, endedFirst]);
  const metrics = env.metrics.scopedGroup(['job', CK_JOB, 'checkpoints'], { job: CK_JOB, job_id: client.jobId });
  const completedCount = metrics.counter('numCompletedCheckpoints').count;
  const duration = metrics.histogram('checkpointDurationMs').snapshot();
  const size = metrics.histogram('checkpointSizeBytes').snapshot();
  source.end();
  await client.result;
  if (completedCount !== 1 || duration.count !== 1 || size.count !== 1) {
    throw new Error(`${CK_JOB}: expected one completed checkpoint, the metrics say ${completedCount}`);
  }

  const file = checkpointFile(dir, 1);
  const onDisk = (await stat(file)).size;
  if (onDisk !== size.max) throw new Error(`${CK_JOB}: checkpointSizeBytes says ${size.max} bytes, ${file} has ${onDisk}`);
  const { checkpoint } = await new FileCheckpointStorage(dir).load(file);
  return { run: { ...checkpointChecksum(checkpoint), durationMs: duration.max, sizeBytes: size.max }, checkpoint };
}

/** The checkpoint the direct probes store and serialize: taken by the job once, in `prepare`, into a directory of its own. */
class SharedCheckpoint {
  private readonly dirs = new TempDirs('tributary-bench-ck-shared-');
  private taken: { keys: number; checkpoint: CompletedCheckpoint } | undefined;

  async prepare(keys: number): Promise<void> {
    await this.dirs.open();
    if (this.taken?.keys !== keys) this.taken = { keys, checkpoint: (await checkpointJob(keys, this.dirs.next())).checkpoint };
  }

  get checkpoint(): CompletedCheckpoint {
    if (this.taken === undefined) throw new Error('CK: the shared checkpoint is taken in prepare()');
    return this.taken.checkpoint;
  }

  /** Removes the job's files; the checkpoint itself stays in memory for the next prepare. */
  dispose(): Promise<void> {
    return this.dirs.dispose();
  }
}

function jobProbe(): CheckpointProbe {
  const dirs = new TempDirs('tributary-bench-ck-job-');
  return {
    id: 'tributary',
    label: 'Tributary job, periodic checkpoint',
    note:
      '`keyBy(i => `user-${i}`).map(rich function adding to ValueState)`, parallelism 1, `enableCheckpointing(100, { storage: dir })`; ' +
      'once all keys are in state one checkpoint is triggered; figures are the core\'s `checkpointDurationMs` (trigger to stored) and `checkpointSizeBytes`',
    prepare: () => dirs.open(),
    run: async (keys) => (await checkpointJob(keys, dirs.next())).run,
    teardown: () => dirs.dispose(),
  };
}

function storeProbe(shared: SharedCheckpoint): CheckpointProbe {
  const dirs = new TempDirs('tributary-bench-ck-store-');
  return {
    id: 'file-storage',
    label: 'FileCheckpointStorage.store',
    note: 'that checkpoint stored again into an empty directory: `v8.serialize`, SHA-256, write, fsync, rename, fsync of the directory',
    prepare: async (keys) => {
      await dirs.open();
      await shared.prepare(keys);
    },
    run: async () => {
      const storage = new FileCheckpointStorage(dirs.next());
      const started = performance.now();
      const { location, bytes } = await storage.store(shared.checkpoint);
      const durationMs = performance.now() - started;
      const { checkpoint } = await storage.load(location);
      return { ...checkpointChecksum(checkpoint), durationMs, sizeBytes: bytes };
    },
    teardown: async () => {
      await dirs.dispose();
      await shared.dispose();
    },
  };
}

function snapshotProbe(): CheckpointProbe {
  let backend = new HeapKeyedStateBackend();
  return {
    id: 'keyed-snapshot',
    label: 'keyed state snapshot only',
    note: '`HeapKeyedStateBackend.snapshot()` of the same keys: the synchronous part, during which the task processes no record',
    extra: true,
    prepare: (keys) => {
      backend = new HeapKeyedStateBackend();
      const state = backend.getState(new ValueStateDescriptor<number>(RUNNING_SUM_STATE, 0));
      for (let i = 0; i < keys; i++) {
        backend.setCurrentKey(ckKey(i));
        state.update(i);
      }
    },
    run: () => {
      const started = performance.now();
      const snapshot = backend.snapshot();
      const durationMs = performance.now() - started;
      return Promise.resolve({ ...stateChecksum(snapshot), durationMs });
    },
  };
}

function serializeProbe(shared: SharedCheckpoint): CheckpointProbe {
  return {
    id: 'serialize',
    label: 'serialize + checksum only',
    note: '`v8.serialize` of that checkpoint and its SHA-256, no file: the CPU part of `store` (the size shown is the payload, the file adds a 40-byte header)',
    extra: true,
    prepare: (keys) => shared.prepare(keys),
    run: () => {
      const started = performance.now();
      const payload = serialize(shared.checkpoint);
      createHash('sha256').update(payload).digest();
      const durationMs = performance.now() - started;
      return Promise.resolve({ ...checkpointChecksum(deserialize(payload) as CompletedCheckpoint), durationMs, sizeBytes: payload.length });
    },
    teardown: () => shared.dispose(),
  };
}

/** Periodic checkpoints a finished job completed, from its metrics. */
function periodicCheckpoints(env: StreamExecutionEnvironment, jobName: string, checkpointing: boolean): number {
  // Absent without checkpointing; the latest run of the job name otherwise.
  const completed = Number(env.metrics.snapshot()[`job.${jobName}.checkpoints.numCompletedCheckpoints`] ?? 0);
  if (!checkpointing) {
    if (completed !== 0) throw new Error(`${jobName}: numCompletedCheckpoints is ${completed} without checkpointing, expected 0`);
    return 0;
  }
  // With checkpointing a job also stores a final checkpoint when its input ends, and counts it.
  if (completed < 1) throw new Error(`${jobName}: numCompletedCheckpoints is ${completed}, expected at least the final checkpoint`);
  return completed - 1;
}

/** A pipeline of S3 or S4 without and with checkpointing every {@link CK_INTERVAL_MS}: one part of CK's overhead table. */
function overheadPart(pipeline: 'S3' | 'S4', jobName: string, job: (env: StreamExecutionEnvironment, n: number) => Promise<Checksum>): CpuScenario {
  const dirs = new TempDirs(`tributary-bench-ck-${pipeline.toLowerCase()}-`);
  const measured = async (env: StreamExecutionEnvironment, n: number, checkpointing: boolean): Promise<RunStats> => ({
    ...(await job(env, n)),
    stats: { periodicCheckpoints: periodicCheckpoints(env, jobName, checkpointing) },
  });
  return {
    kind: 'cpu',
    id: 'CK',
    title: `${pipeline} without and with a checkpoint every ${CK_INTERVAL_MS} ms`,
    description: `The Tributary job of ${pipeline} (same code), parallelism 1, on a fresh environment per run.`,
    records: { full: 5_000_000, quick: 200_000 },
    baseline: 'tributary',
    subject: 'tributary-checkpointing',
    contenders: [
      {
        id: 'tributary',
        label: `${pipeline}, no checkpointing`,
        note: `the ${pipeline} Tributary row's job (\`${jobName}\`)`,
        run: (n) => measured(StreamExecutionEnvironment.create({ parallelism: 1 }), n, false),
      },
      {
        id: 'tributary-checkpointing',
        label: `${pipeline}, checkpoint every ${CK_INTERVAL_MS} ms`,
        note: `the same job after \`env.enableCheckpointing(${CK_INTERVAL_MS}, { storage: dir })\`, a fresh temporary directory per run`,
        prepare: () => dirs.open(),
        run: (n) => {
          const env = StreamExecutionEnvironment.create({ parallelism: 1 });
          env.enableCheckpointing(CK_INTERVAL_MS, { storage: dirs.next() });
          return measured(env, n, true);
        },
        teardown: () => dirs.dispose(),
      },
    ],
    targets: [],
  };
}

/** CK (issue 5): checkpoint time and size for 100,000 keys of ValueState, and the cost of checkpointing every 100 ms on S3 and S4. */
export function checkpointScenario(): CheckpointScenario {
  const shared = new SharedCheckpoint();
  return {
    kind: 'checkpoint',
    id: 'CK',
    title: 'checkpoint time and size for keys of ValueState; checkpointing every 100 ms on S3/S4',
    description:
      'A keyed job puts 100,000 distinct string keys (`user-0` ...) in `ValueState<number>`, then its source holds its next read open; one ' +
      'periodic checkpoint is triggered, its barrier passes while the source waits, and the checkpoint is written by `FileCheckpointStorage` ' +
      'to a fresh temporary directory (on the machine\'s local disk, with fsync). The same checkpoint is then stored, serialized and ' +
      'snapshotted directly to show where the time goes. Every row reads its snapshot back and checks it holds every key and value.',
    keys: { full: 100_000, quick: 10_000 },
    intervalMs: CK_INTERVAL_MS,
    baseline: 'tributary',
    probes: [jobProbe(), storeProbe(shared), snapshotProbe(), serializeProbe(shared)],
    overhead: [overheadPart('S3', S3_JOB, runMapFilterMapJob), overheadPart('S4', S4_JOB, runKeyedRunningSumJob)],
    targets: [],
  };
}
