import type { OperatorListState } from '../../operators/StreamOperator.js';

/** What each new subtask restores of an operator's list state. */
export interface RedistributedListState {
  /** Per new subtask, its share of every list. */
  readonly shares: OperatorListState[];
  /** Every old subtask's items, subtask 0's first: what a union list state hands to all. */
  readonly union: OperatorListState;
}

/**
 * Deals an operator's list state out to `parallelism` subtasks (Flink's
 * round-robin repartitioning of operator ListState). At the same parallelism
 * each subtask keeps its own lists. Otherwise the items of each name are
 * taken in a fixed order (old subtask 0's first, each list in its order) and
 * item k goes to subtask k mod `parallelism`: every item lands exactly once,
 * shares differ by at most one item, and every share names every list (an
 * empty array when it got none).
 */
export function redistributeListState(
  old: readonly (OperatorListState | undefined)[],
  parallelism: number,
): RedistributedListState {
  const names = [...new Set(old.flatMap((lists) => Object.keys(lists ?? {})))];
  const union: Record<string, unknown[]> = {};
  for (const name of names) union[name] = old.flatMap((lists) => lists?.[name] ?? []);
  if (old.length === parallelism) {
    return { shares: old.map((lists) => Object.fromEntries(names.map((name) => [name, lists?.[name] ?? []]))), union };
  }
  const shares = Array.from({ length: parallelism }, (_, subtask) =>
    Object.fromEntries(names.map((name) => [name, (union[name] as unknown[]).filter((_item, k) => k % parallelism === subtask)])),
  );
  return { shares, union };
}
