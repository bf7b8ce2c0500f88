import type { OperatorListState, OperatorSnapshot } from '../../operators/StreamOperator.js';
import { InvalidJobError } from '../errors.js';
import { subtaskForKey, type Key } from '../keyGroups.js';
import type { KeyedStateSnapshot } from '../state/HeapKeyedStateBackend.js';
import type { TimersSnapshot } from '../timers/InternalTimerService.js';
import type { StoredCheckpoint } from './CheckpointStorage.js';
import { redistributeListState } from './redistributeListState.js';

/** The state one subtask starts from. */
export interface SubtaskRestore {
  /** Its list state is this subtask's share. */
  readonly snapshot: OperatorSnapshot | undefined;
  /** Every old subtask's list state, for `initializeListState`'s `union`. */
  readonly unionListState: OperatorListState | undefined;
  readonly position: unknown;
}

/** The graph's operators as restore sees them: id, name, parallelism, and for a source whether its positions re-split. */
export interface RestoreTarget {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  /** A source whose positions are lists of splits (`Source.rescalable`). */
  readonly rescalableSource: boolean;
}

/**
 * Matches a checkpoint to the job about to run, refusing anything that would
 * silently drop state: every source and every operator that holds state in
 * the checkpoint must exist in the job (by id), and state only moves to a different parallelism when it
 * is keyed (re-split by key group), list state (dealt out round-robin) or the
 * splits of a rescalable source (dealt out round-robin).
 */
export function assignRestoredState(stored: StoredCheckpoint, targets: readonly RestoreTarget[]): Map<string, SubtaskRestore[]> {
  const { checkpoint, location } = stored;
  const where = `checkpoint ${checkpoint.checkpointId} (${location})`;
  const byId = new Map(targets.map((t) => [t.id, t]));
  const operatorsWithState = Object.entries(checkpoint.operators).filter(([, entry]) => entry.subtasks.some(holdsState));
  for (const [id, entry] of [...operatorsWithState, ...Object.entries(checkpoint.sources)]) {
    if (!byId.has(id)) {
      throw new InvalidJobError(
        `Cannot restore ${where}: it holds state of operator '${entry.name}' (id '${id}'), which is not in this job. ` +
          `If the job changed, give its operators stable uid()s; state is never dropped silently.`,
      );
    }
  }
  const assignment = new Map<string, SubtaskRestore[]>();
  for (const target of targets) {
    const operator = checkpoint.operators[target.id];
    const source = checkpoint.sources[target.id];
    const lists = operator === undefined ? undefined : listStateOf(operator.subtasks, target.parallelism);
    const positions = source === undefined ? undefined : positionsFor(source, target, where);
    const subtasks: SubtaskRestore[] = [];
    for (let i = 0; i < target.parallelism; i++) {
      const snapshot = operator === undefined ? undefined : snapshotFor(operator.subtasks, target, i, where);
      const share = lists?.shares[i];
      subtasks.push({
        snapshot: snapshot === undefined || share === undefined ? snapshot : { ...snapshot, listState: share },
        unionListState: lists?.union,
        position: positions?.[i],
      });
    }
    assignment.set(target.id, subtasks);
  }
  return assignment;
}

/**
 * Whether a subtask's snapshot holds anything to restore: an operator without
 * state (a map, a sink without a writer state) may leave the job, as in Flink,
 * which skips empty state when it matches a savepoint to a changed job.
 */
function holdsState(snapshot: OperatorSnapshot | undefined): boolean {
  if (snapshot === undefined) return false;
  const { keyedState, timers, operatorState, listState } = snapshot;
  return (
    operatorState !== undefined ||
    (timers !== undefined && timers.length > 0) ||
    (keyedState !== undefined && Object.values(keyedState.states).some((state) => state.entries.length > 0)) ||
    (listState !== undefined && Object.values(listState).some((list) => list.length > 0))
  );
}

/** The operator's list state, when any old subtask has some. */
function listStateOf(old: readonly OperatorSnapshot[], parallelism: number) {
  return old.some((s) => s.listState !== undefined)
    ? redistributeListState(
        old.map((s) => s.listState),
        parallelism,
      )
    : undefined;
}

/** Each new subtask's position: the old one at the same parallelism, else a share of all old splits. */
function positionsFor(
  source: { parallelism: number; positions: unknown[] },
  target: RestoreTarget,
  where: string,
): readonly unknown[] {
  if (source.parallelism === target.parallelism) return source.positions;
  const refuse = (why: string): never => {
    throw new InvalidJobError(
      `Cannot restore ${where}: source '${target.name}' ran with parallelism ${source.parallelism} and now has ${target.parallelism}, ${why}. ` +
        `Restore it at parallelism ${source.parallelism} (setParallelism(${source.parallelism}) on the source)`,
    );
  };
  if (!target.rescalableSource) refuse('and its positions cannot be re-split (it is not a rescalable source, see Source.rescalable)');
  if (!source.positions.every(Array.isArray)) refuse('but its positions are not lists of splits, as a rescalable source must give');
  return redistributeListState(
    source.positions.map((splits) => ({ splits: splits as unknown[] })),
    target.parallelism,
  ).shares.map((share) => share.splits ?? []);
}

/** Keyed state and timers of one new subtask (its list state is added by the caller). */
function snapshotFor(old: OperatorSnapshot[], target: RestoreTarget, subtask: number, where: string): OperatorSnapshot | undefined {
  if (old.length === target.parallelism) return old[subtask];
  const resplit = resplitSnapshot(old, target, subtask, where);
  // At another parallelism an operator is finished only if every old subtask was: a subtask that had not finished
  // still owes its end of input, and the new subtasks run it. Those that had finished and committed bring no
  // state (see CheckpointCoordinator.finalCommitted); one that had not committed yet brings its own, which that
  // end of input sees too.
  return resplit !== undefined && old.length > 0 && old.every((s) => s.finished === true) ? { ...resplit, finished: true } : resplit;
}

function resplitSnapshot(old: OperatorSnapshot[], target: RestoreTarget, subtask: number, where: string): OperatorSnapshot | undefined {
  if (old.some((s) => s.operatorState !== undefined)) {
    throw new InvalidJobError(
      `Cannot restore ${where}: operator '${target.name}' ran with parallelism ${old.length} and now has ${target.parallelism}, and its operator state ` +
        `(what its snapshotState() returns) cannot be re-split: only keyed state and list state (snapshotListState()) can. ` +
        `Restore it at parallelism ${old.length} (setParallelism(${old.length}) on it)`,
    );
  }
  return keyedShare(old, target.parallelism, subtask);
}

/**
 * Subtask `subtask` of `parallelism`'s share of the keyed state and keyed
 * timers of `snapshots` (every old subtask's): the keys whose key group it
 * owns, as `keyBy` routes them. Empty for a non-keyed operator, whose new
 * snapshots must hold no keyed state either.
 */
export function keyedShare(snapshots: readonly OperatorSnapshot[], parallelism: number, subtask: number): Pick<OperatorSnapshot, 'keyedState' | 'timers'> {
  if (snapshots.every((s) => s.keyedState === undefined && s.timers === undefined)) return {};
  const mine = (key: Key) => subtaskForKey(key, parallelism) === subtask;
  const states: Record<string, { kind: KeyedStateSnapshot['states'][string]['kind']; entries: [Key, unknown][] }> = {};
  const timers: TimersSnapshot = [];
  for (const snapshot of snapshots) {
    for (const [name, { kind, entries }] of Object.entries(snapshot.keyedState?.states ?? {})) {
      const into = (states[name] ??= { kind, entries: [] });
      for (const entry of entries) if (mine(entry[0])) into.entries.push(entry);
    }
    for (const [t, keys] of snapshot.timers ?? []) {
      const moved = keys.filter(mine);
      if (moved.length > 0) timers.push([t, moved]);
    }
  }
  return { keyedState: { states }, timers };
}
