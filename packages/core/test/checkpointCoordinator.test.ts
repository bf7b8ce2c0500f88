import { describe, expect, it } from 'vitest';
import { EventLog, ManualClock, MetricRegistry, silentLogger, type CheckpointStorage, type CompletedCheckpoint } from '../src/index.js';
import { CheckpointCoordinator, type TaskPlacement } from '../src/runtime/checkpoint/CheckpointCoordinator.js';
import { FINAL_CHECKPOINT, taskKey, type TaskCommand, type TaskGateway, type TaskId, type TaskReport, type TaskSnapshot } from '../src/runtime/TaskGateway.js';

const INTERVAL = 100;
const TIMEOUT = 250;

/** Two source subtasks and one sink subtask of attempt 0. */
const tasks = {
  src0: { vertexId: 'src', subtask: 0, attempt: 0 },
  src1: { vertexId: 'src', subtask: 1, attempt: 0 },
  sink: { vertexId: 'sink', subtask: 0, attempt: 0 },
} satisfies Record<string, TaskId>;
type TaskName = keyof typeof tasks;
const names = new Map(Object.entries(tasks).map(([name, id]) => [taskKey(id), name]));

const placements: TaskPlacement[] = [
  { id: tasks.src0, parallelism: 2, isSource: true, names: new Map([['src', 'Source']]) },
  { id: tasks.src1, parallelism: 2, isSource: true, names: new Map([['src', 'Source']]) },
  { id: tasks.sink, parallelism: 1, isSource: false, names: new Map([['sink', 'Sink']]) },
];

/** What a scenario does, in order: let time pass, or deliver a report from a task. */
type Step =
  | { readonly advance: number }
  | { readonly ack: TaskName; readonly id: number }
  | { readonly decline: TaskName; readonly id: number }
  | { readonly inputEnded: TaskName }
  | { readonly finalSnapshot: TaskName }
  /** An ack from a task of another attempt (a restarted job's earlier run). */
  | { readonly staleAttemptAck: TaskName; readonly id: number };

const ackAll = (id: number): Step[] => (['src0', 'src1', 'sink'] as const).map((task) => ({ ack: task, id }));
const notifyAll = (id: number): string[] => ['src0', 'src1', 'sink'].map((task) => `${task}:${id}`);

function reportOf(step: Step): TaskReport | undefined {
  const snapshot = (task: TaskName): TaskSnapshot => ({
    operators: [{ id: tasks[task].vertexId, snapshot: { operatorState: tasks[task].subtask } }],
    ...(placements.find((p) => p.id === tasks[task])?.isSource === true ? { source: { id: 'src', position: tasks[task].subtask * 10 } } : {}),
  });
  if ('ack' in step) return { kind: 'acknowledgeCheckpoint', task: tasks[step.ack], checkpointId: step.id, snapshot: snapshot(step.ack), alignmentMs: 0 };
  if ('staleAttemptAck' in step) {
    return { kind: 'acknowledgeCheckpoint', task: { ...tasks[step.staleAttemptAck], attempt: 1 }, checkpointId: step.id, snapshot: snapshot(step.staleAttemptAck), alignmentMs: 0 };
  }
  if ('decline' in step) return { kind: 'declineCheckpoint', task: tasks[step.decline], checkpointId: step.id, reason: 'the task has ended' };
  if ('inputEnded' in step) return { kind: 'inputEnded', task: tasks[step.inputEnded] };
  if ('finalSnapshot' in step) return { kind: 'finalSnapshot', task: tasks[step.finalSnapshot], snapshot: snapshot(step.finalSnapshot) };
  return undefined;
}

interface Expected {
  /** `task:checkpointId` of every trigger sent, in order. */
  readonly triggered: readonly string[];
  /** Ids of the checkpoints stored, in order. */
  readonly stored: readonly number[];
  /** `task:checkpointId` of every completion notice sent, in order (`final` for the final checkpoint). */
  readonly notified: readonly string[];
}

const scenarios: { name: string; steps: Step[]; expected: Expected }[] = [
  {
    name: 'triggers the sources only, and completes once every task acked',
    steps: [{ advance: INTERVAL }, ...ackAll(1)],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: 'does not complete while a task has not acked',
    steps: [{ advance: INTERVAL }, { ack: 'src0', id: 1 }, { ack: 'sink', id: 1 }, { ack: 'sink', id: 1 }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [], notified: [] },
  },
  {
    name: 'starts the next checkpoint an interval after one completed',
    steps: [{ advance: INTERVAL }, ...ackAll(1), { advance: INTERVAL }, ...ackAll(2)],
    expected: { triggered: ['src0:1', 'src1:1', 'src0:2', 'src1:2'], stored: [1, 2], notified: [...notifyAll(1), ...notifyAll(2)] },
  },
  {
    name: 'aborts a checkpoint a task declines; its later acks are ignored; the next one follows',
    steps: [{ advance: INTERVAL }, { ack: 'src0', id: 1 }, { decline: 'src1', id: 1 }, { ack: 'src1', id: 1 }, { ack: 'sink', id: 1 }, { advance: INTERVAL }, ...ackAll(2)],
    expected: { triggered: ['src0:1', 'src1:1', 'src0:2', 'src1:2'], stored: [2], notified: notifyAll(2) },
  },
  {
    name: 'aborts a checkpoint that outlasts the timeout; late acks are ignored; the next one follows',
    steps: [{ advance: INTERVAL }, { ack: 'src0', id: 1 }, { advance: TIMEOUT }, { ack: 'src1', id: 1 }, { ack: 'sink', id: 1 }, { advance: INTERVAL }, ...ackAll(2)],
    expected: { triggered: ['src0:1', 'src1:1', 'src0:2', 'src1:2'], stored: [2], notified: notifyAll(2) },
  },
  {
    name: 'ignores a decline of a checkpoint that is not pending',
    steps: [{ advance: INTERVAL }, ...ackAll(1), { decline: 'sink', id: 1 }, { decline: 'sink', id: 7 }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: 'runs one checkpoint at a time: intervals that pass while one is pending start none',
    steps: [{ advance: INTERVAL }, { advance: INTERVAL }, { advance: INTERVAL }, ...ackAll(1)],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: 'ignores acks of an earlier checkpoint and of tasks of another attempt',
    steps: [
      { advance: INTERVAL },
      ...ackAll(1),
      { advance: INTERVAL },
      { ack: 'src0', id: 1 },
      { staleAttemptAck: 'src1', id: 2 },
      { ack: 'src0', id: 2 },
      { ack: 'sink', id: 2 },
    ],
    expected: { triggered: ['src0:1', 'src1:1', 'src0:2', 'src1:2'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: "completes a checkpoint in flight when a source's input ends with that source's final snapshot, and goes on triggering the other",
    steps: [
      { advance: INTERVAL },
      { ack: 'src0', id: 1 },
      { inputEnded: 'src1' },
      { ack: 'sink', id: 1 },
      { finalSnapshot: 'src1' },
      { advance: INTERVAL },
      { ack: 'src0', id: 2 },
      { ack: 'sink', id: 2 },
    ],
    // src1's final snapshot is in checkpoint 1: it is told so once, to commit what is left and end.
    expected: { triggered: ['src0:1', 'src1:1', 'src0:2'], stored: [1, 2], notified: ['src0:1', 'src1:final', 'sink:1', 'src0:2', 'sink:2'] },
  },
  {
    name: 'triggers a task whose input ended but that still flushes, as a source, and waits for its ack or its final snapshot',
    steps: [{ inputEnded: 'src1' }, { advance: INTERVAL }, { ack: 'src0', id: 1 }, { ack: 'sink', id: 1 }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [], notified: [] },
  },
  {
    name: 'completes it with the ack of that flushing task',
    steps: [{ inputEnded: 'src1' }, { advance: INTERVAL }, { ack: 'src0', id: 1 }, { ack: 'sink', id: 1 }, { ack: 'src1', id: 1 }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: 'or with its final snapshot, when it flushed before the trigger reached it',
    steps: [{ inputEnded: 'src1' }, { advance: INTERVAL }, { ack: 'src0', id: 1 }, { ack: 'sink', id: 1 }, { finalSnapshot: 'src1' }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [1], notified: ['src0:1', 'src1:final', 'sink:1'] },
  },
  {
    // The source asked already is not asked again (it keeps the request and takes it while it flushes); the sink is.
    name: 'triggers a task whose input ends while a checkpoint it has not acked is pending, once: no barrier of it will reach the task',
    steps: [{ advance: INTERVAL }, { ack: 'src0', id: 1 }, { inputEnded: 'src1' }, { inputEnded: 'sink' }, { ack: 'src1', id: 1 }, { ack: 'sink', id: 1 }],
    expected: { triggered: ['src0:1', 'src1:1', 'sink:1'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: 'but not one that acked it before its input ended',
    steps: [{ advance: INTERVAL }, { ack: 'src0', id: 1 }, { ack: 'src1', id: 1 }, { inputEnded: 'src1' }, { ack: 'sink', id: 1 }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [1], notified: notifyAll(1) },
  },
  {
    name: 'does not trigger a task that gave its final snapshot',
    steps: [{ inputEnded: 'src1' }, { finalSnapshot: 'src1' }, { advance: INTERVAL }, { ack: 'src0', id: 1 }, { ack: 'sink', id: 1 }],
    expected: { triggered: ['src0:1'], stored: [1], notified: ['src0:1', 'src1:final', 'sink:1'] },
  },
  {
    // The sink never acks: checkpoint 1 times out, and no task is left to ask for another.
    name: 'once every source ended, triggers the tasks that still flush, and starts no more once they all gave their final snapshots',
    steps: [{ inputEnded: 'src0' }, { inputEnded: 'src1' }, { advance: INTERVAL }, { finalSnapshot: 'src0' }, { finalSnapshot: 'src1' }, { advance: 5 * INTERVAL }],
    expected: { triggered: ['src0:1', 'src1:1'], stored: [], notified: [] },
  },
  {
    // In slots the reports come in any order: the last source's final snapshot, with no checkpoint pending, before the
    // sink says its input ended. A timer then finds no task able to inject and the schedule stops; the flushing sink
    // restarts it.
    name: "goes on checkpointing a task that reports its input ended after the last source's final snapshot stopped the schedule",
    steps: [
      { inputEnded: 'src0' },
      { inputEnded: 'src1' },
      { finalSnapshot: 'src0' },
      { finalSnapshot: 'src1' },
      { advance: INTERVAL },
      { inputEnded: 'sink' },
      { advance: INTERVAL },
      { ack: 'sink', id: 1 },
      { advance: INTERVAL },
    ],
    // The sources' final snapshots are in checkpoint 1: they are told to commit what those left.
    expected: { triggered: ['sink:1', 'sink:2'], stored: [1], notified: ['src0:final', 'src1:final', 'sink:1'] },
  },
  {
    name: 'stores the final checkpoint once every task offered its final snapshot, then notifies every task once',
    steps: [
      { inputEnded: 'src0' },
      { inputEnded: 'src1' },
      { finalSnapshot: 'src0' },
      { finalSnapshot: 'src1' },
      { advance: 5 * INTERVAL },
      { inputEnded: 'sink' },
      { finalSnapshot: 'sink' },
    ],
    expected: { triggered: [], stored: [1], notified: notifyAll(FINAL_CHECKPOINT).map((n) => n.replace(String(FINAL_CHECKPOINT), 'final')) },
  },
];

/** A storage in memory that records what it stored. */
function memoryStorage(): CheckpointStorage & { stored: CompletedCheckpoint[] } {
  const stored: CompletedCheckpoint[] = [];
  return {
    stored,
    store: (checkpoint) => {
      stored.push(checkpoint);
      return Promise.resolve({ location: `mem/${checkpoint.checkpointId}`, bytes: 1 });
    },
    highestCheckpointId: () => Promise.resolve(0),
    loadLatest: () => Promise.resolve(undefined),
    load: () => Promise.reject(new Error('not kept')),
  };
}

function start(storage: CheckpointStorage, timeoutMs: number | 'none' = TIMEOUT) {
  const clock = new ManualClock();
  const sent: { to: TaskId; command: TaskCommand }[] = [];
  const gateway: TaskGateway = { send: (to, command) => sent.push({ to, command: structuredClone(command) }) };
  const failures: unknown[] = [];
  const events: { message: string; fields: Record<string, unknown> }[] = [];
  const registry = new MetricRegistry();
  const coordinator = new CheckpointCoordinator({
    jobName: 'job',
    clock,
    intervalMs: INTERVAL,
    ...(timeoutMs === 'none' ? {} : { timeoutMs }),
    storage,
    tasks: placements,
    gateway,
    log: new EventLog({ ...silentLogger, info: (message, fields) => void events.push({ message, fields: fields ?? {} }) }, clock, { job: 'job' }),
    lastCheckpointId: 0,
    metrics: registry.group('job', 'job', 'checkpoints'),
    fail: (error) => failures.push(error),
  });
  coordinator.start();
  const commands = (kind: TaskCommand['kind']) =>
    sent
      .filter((s) => s.command.kind === kind)
      .map(({ to, command }) => {
        const id = 'checkpointId' in command ? command.checkpointId : undefined;
        return `${names.get(taskKey(to))}:${id === FINAL_CHECKPOINT ? 'final' : id}`;
      });
  return { clock, coordinator, commands, failures, registry, events };
}

describe('checkpoint coordinator, through a fake gateway', () => {
  it.each(scenarios)('$name', async ({ steps, expected }) => {
    const storage = memoryStorage();
    const { clock, coordinator, commands, failures, registry } = start(storage);
    for (const step of steps) {
      const report = reportOf(step);
      // Reports cross the gateway as plain data: what a structured clone keeps is all the coordinator gets.
      if (report !== undefined) coordinator.receive(structuredClone(report));
      await clock.advance('advance' in step ? step.advance : 0);
    }
    expect(commands('triggerCheckpoint')).toEqual(expected.triggered);
    expect(storage.stored.map((c) => c.checkpointId)).toEqual(expected.stored);
    expect(commands('notifyCheckpointComplete')).toEqual(expected.notified);
    const metrics = registry.snapshot();
    expect(metrics['job.job.checkpoints.numCompletedCheckpoints']).toBe(expected.stored.length);
    expect(failures).toEqual([]);
    coordinator.stop();
  });

  it("takes an ended source's final snapshot, its last position, into the checkpoints that follow", async () => {
    const storage = memoryStorage();
    const { clock, coordinator } = start(storage);
    coordinator.receive({ kind: 'inputEnded', task: tasks.src1 });
    coordinator.receive({ kind: 'finalSnapshot', task: tasks.src1, snapshot: { operators: [{ id: 'src', snapshot: { operatorState: 'done' } }], source: { id: 'src', position: 'end' } } });
    await clock.advance(INTERVAL);
    for (const step of [{ ack: 'src0', id: 1 }, { ack: 'sink', id: 1 }] as const) coordinator.receive(reportOf(step) as TaskReport);
    await clock.advance(0);
    const [checkpoint] = storage.stored;
    expect(checkpoint?.sources).toEqual({ src: { name: 'Source', parallelism: 2, positions: [0, 'end'] } });
    expect(checkpoint?.operators.src?.subtasks).toEqual([{ operatorState: 0 }, { operatorState: 'done' }]);
    coordinator.stop();
  });

  it('holds a task that ended and committed as finished with no state in the checkpoints after its commit, its position kept', async () => {
    const storage = memoryStorage();
    const { clock, coordinator, commands } = start(storage);
    const final = { listState: { count: [20] }, finished: true } as const;
    coordinator.receive({ kind: 'inputEnded', task: tasks.src1 });
    coordinator.receive({ kind: 'finalSnapshot', task: tasks.src1, snapshot: { operators: [{ id: 'src', snapshot: final }], source: { id: 'src', position: 'end' } } });
    for (const id of [1, 2]) {
      await clock.advance(INTERVAL);
      for (const step of [{ ack: 'src0', id }, { ack: 'sink', id }] as const) coordinator.receive(reportOf(step) as TaskReport);
      await clock.advance(0);
      // Told at checkpoint 1, the task commits and ends before checkpoint 2.
      if (id === 1) coordinator.receive({ kind: 'finalCommitted', task: tasks.src1 });
    }
    expect(commands('notifyCheckpointComplete')).toEqual(['src0:1', 'src1:final', 'sink:1', 'src0:2', 'sink:2']);
    const [first, second] = storage.stored;
    // Until it committed, a restore needs its state: the commit runs again from it.
    expect(first?.operators.src?.subtasks).toEqual([{ operatorState: 0 }, final]);
    expect(second?.operators.src?.subtasks).toEqual([{ operatorState: 0 }, { finished: true }]);
    expect(second?.sources.src?.positions).toEqual([0, 'end']);
    coordinator.stop();
  });

  it('assembles every task snapshot by operator and subtask, sources with their positions', async () => {
    const storage = memoryStorage();
    const { clock, coordinator } = start(storage);
    await clock.advance(INTERVAL);
    for (const step of ackAll(1)) coordinator.receive(reportOf(step) as TaskReport);
    await clock.advance(0);
    const [checkpoint] = storage.stored;
    expect(checkpoint?.operators).toEqual({
      src: { name: 'Source', parallelism: 2, subtasks: [{ operatorState: 0 }, { operatorState: 1 }] },
      sink: { name: 'Sink', parallelism: 1, subtasks: [{ operatorState: 0 }] },
    });
    expect(checkpoint?.sources).toEqual({ src: { name: 'Source', parallelism: 2, positions: [0, 10] } });
    expect(coordinator.latest?.location).toBe('mem/1');
    coordinator.stop();
  });

  it("reports the slowest task's barrier alignment with the checkpoint, as an event field and a histogram", async () => {
    const storage = memoryStorage();
    const { clock, coordinator, registry, events } = start(storage);
    await clock.advance(INTERVAL);
    const alignments: Record<TaskName, number> = { src0: 0, src1: 0, sink: 7.25 };
    for (const step of ackAll(1)) coordinator.receive({ ...(reportOf(step) as Extract<TaskReport, { kind: 'acknowledgeCheckpoint' }>), alignmentMs: alignments[(step as { ack: TaskName }).ack] });
    await clock.advance(0);
    expect(events.find((e) => e.fields['event'] === 'checkpoint.completed')?.fields).toMatchObject({ checkpointId: 1, alignmentMs: 7.3 });
    expect(registry.snapshot()['job.job.checkpoints.checkpointAlignmentMs']).toMatchObject({ count: 1, max: 7.25 });
    coordinator.stop();
  });

  it('fails the job when a checkpoint cannot be stored', async () => {
    const storage = { ...memoryStorage(), store: () => Promise.reject(new Error('disk full')) };
    const { clock, coordinator, commands, failures } = start(storage);
    await clock.advance(INTERVAL);
    for (const step of ackAll(1)) coordinator.receive(reportOf(step) as TaskReport);
    await clock.advance(0);
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toContain("checkpoint 1 of job 'job' could not be stored: disk full");
    expect(commands('notifyCheckpointComplete')).toEqual([]);
    coordinator.stop();
  });

  it('without a timeout, lets a checkpoint wait however long for its acks', async () => {
    const storage = memoryStorage();
    const { clock, coordinator, commands } = start(storage, 'none');
    await clock.advance(INTERVAL);
    coordinator.receive(reportOf({ ack: 'src0', id: 1 }) as TaskReport);
    await clock.advance(100 * TIMEOUT);
    for (const step of ackAll(1)) coordinator.receive(reportOf(step) as TaskReport);
    await clock.advance(0);
    expect(storage.stored.map((c) => c.checkpointId)).toEqual([1]);
    expect(commands('triggerCheckpoint')).toEqual(['src0:1', 'src1:1']);
    coordinator.stop();
  });

  it('completes a checkpoint still being stored when the input ends before the final one, which stays the latest', async () => {
    // Checkpoint 1's store is slow: every task acked it, then the input ended and the final snapshots came.
    const base = memoryStorage();
    let storeOne!: () => void;
    const storage: CheckpointStorage = {
      ...base,
      store: (checkpoint) =>
        checkpoint.checkpointId === 1 ? new Promise((resolve) => (storeOne = () => resolve(base.store(checkpoint)))) : base.store(checkpoint),
    };
    const { clock, coordinator, commands } = start(storage);
    await clock.advance(INTERVAL);
    for (const step of ackAll(1)) coordinator.receive(reportOf(step) as TaskReport);
    await clock.advance(0);
    for (const step of [{ inputEnded: 'src0' }, { finalSnapshot: 'src0' }, { finalSnapshot: 'src1' }, { finalSnapshot: 'sink' }] as const) {
      coordinator.receive(reportOf(step) as TaskReport);
    }
    await clock.advance(0);
    // The final checkpoint waits for checkpoint 1, which completes as any other.
    expect(base.stored.map((c) => c.checkpointId)).toEqual([]);
    storeOne();
    await coordinator.settled();
    expect(base.stored.map((c) => [c.checkpointId, c.final])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(commands('notifyCheckpointComplete')).toEqual([...notifyAll(1), ...notifyAll(FINAL_CHECKPOINT).map((n) => n.replace(String(FINAL_CHECKPOINT), 'final'))]);
    // A restart after the end (a close that fails) resumes from the final checkpoint, not from checkpoint 1.
    expect(coordinator.latest?.location).toBe('mem/2');
    coordinator.stop();
  });

  it('stops triggering once stopped', async () => {
    const { clock, coordinator, commands } = start(memoryStorage());
    coordinator.stop();
    await clock.advance(5 * INTERVAL);
    expect(commands('triggerCheckpoint')).toEqual([]);
  });
});
