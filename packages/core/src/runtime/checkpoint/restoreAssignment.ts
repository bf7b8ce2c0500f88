import type { OperatorSnapshot } from '../../operators/StreamOperator.js';
import { InvalidJobError } from '../errors.js';
import { subtaskForKey, type Key } from '../keyGroups.js';
import type { KeyedStateSnapshot } from '../state/HeapKeyedStateBackend.js';
import type { TimersSnapshot } from '../timers/InternalTimerService.js';
import type { StoredCheckpoint } from './CheckpointStorage.js';

/** The state one subtask starts from. */
export interface SubtaskRestore {
  readonly snapshot: OperatorSnapshot | undefined;
  readonly position: unknown;
}

/** The graph's operators as restore sees them: id, name, parallelism, whether it is a source. */
export interface RestoreTarget {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  readonly isSource: boolean;
}

/**
 * Matches a checkpoint to the job about to run, refusing anything that would
 * silently drop state: every operator and source in the checkpoint must exist
 * in the job (by id), and state only moves to a different parallelism when it
 * is keyed (it is re-split by key group).
 */
export function assignRestoredState(stored: StoredCheckpoint, targets: readonly RestoreTarget[]): Map<string, SubtaskRestore[]> {
  const { checkpoint, location } = stored;
  const where = `checkpoint ${checkpoint.checkpointId} (${location})`;
  const byId = new Map(targets.map((t) => [t.id, t]));
  for (const [id, entry] of [...Object.entries(checkpoint.operators), ...Object.entries(checkpoint.sources)]) {
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
    const subtasks: SubtaskRestore[] = [];
    for (let i = 0; i < target.parallelism; i++) {
      subtasks.push({
        snapshot: operator === undefined ? undefined : snapshotFor(operator.subtasks, target, i, where),
        position: source === undefined ? undefined : positionFor(source, target, i, where),
      });
    }
    assignment.set(target.id, subtasks);
  }
  return assignment;
}

function positionFor(
  source: { parallelism: number; positions: unknown[] },
  target: RestoreTarget,
  subtask: number,
  where: string,
): unknown {
  if (source.parallelism !== target.parallelism) {
    throw new InvalidJobError(
      `Cannot restore ${where}: source '${target.name}' ran with parallelism ${source.parallelism} and now has ${target.parallelism}; source positions cannot be re-split`,
    );
  }
  return source.positions[subtask];
}

function snapshotFor(old: OperatorSnapshot[], target: RestoreTarget, subtask: number, where: string): OperatorSnapshot | undefined {
  if (old.length === target.parallelism) return old[subtask];
  if (old.some((s) => s.operatorState !== undefined)) {
    throw new InvalidJobError(
      `Cannot restore ${where}: operator '${target.name}' ran with parallelism ${old.length} and now has ${target.parallelism}, and its operator state cannot be re-split (only keyed state can)`,
    );
  }
  const mine = (key: Key) => subtaskForKey(key, target.parallelism) === subtask;
  const states: Record<string, { kind: KeyedStateSnapshot['states'][string]['kind']; entries: [Key, unknown][] }> = {};
  const timers: TimersSnapshot = [];
  for (const snapshot of old) {
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
