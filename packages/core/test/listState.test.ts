import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createOperatorContext,
  InvalidJobError,
  MetricRegistry,
  redistributeListState,
  restoreOperator,
  snapshotOperator,
  type OneInputStreamOperator,
  type OperatorListState,
  type OperatorSnapshot,
  ManualClock,
} from '../src/index.js';
import { assignRestoredState, type RestoreTarget } from '../src/runtime/checkpoint/restoreAssignment.js';
import type { CompletedCheckpoint } from '../src/runtime/checkpoint/CheckpointStorage.js';

describe('redistributeListState', () => {
  const cases: { name: string; old: (OperatorListState | undefined)[]; parallelism: number; shares: OperatorListState[] }[] = [
    {
      name: 'same parallelism: each subtask keeps its own lists, in order',
      old: [{ a: [1, 2, 3] }, { a: [4] }],
      parallelism: 2,
      shares: [{ a: [1, 2, 3] }, { a: [4] }],
    },
    {
      name: '2 -> 3: items dealt round-robin, old subtask 0 first',
      old: [{ a: ['x0', 'x1', 'x2'] }, { a: ['y0'] }],
      parallelism: 3,
      shares: [{ a: ['x0', 'y0'] }, { a: ['x1'] }, { a: ['x2'] }],
    },
    {
      name: '3 -> 1: everything to the one subtask, in order',
      old: [{ a: [1] }, { a: [] }, { a: [2, 3] }],
      parallelism: 1,
      shares: [{ a: [1, 2, 3] }],
    },
    {
      name: '2 -> 4 with empty lists: every share names the list',
      old: [{ a: [] }, { a: [] }],
      parallelism: 4,
      shares: [{ a: [] }, { a: [] }, { a: [] }, { a: [] }],
    },
    {
      name: 'names dealt independently; an old subtask without a name or without list state counts as empty',
      old: [{ a: [1, 2], b: ['p'] }, undefined, { b: ['q', 'r'] }],
      parallelism: 2,
      shares: [
        { a: [1], b: ['p', 'r'] },
        { a: [2], b: ['q'] },
      ],
    },
    {
      name: 'same parallelism fills in names a subtask lacks',
      old: [{ a: [1] }, { b: [2] }],
      parallelism: 2,
      shares: [
        { a: [1], b: [] },
        { a: [], b: [2] },
      ],
    },
  ];
  it.each(cases)('$name', ({ old, parallelism, shares }) => {
    const result = redistributeListState(old, parallelism);
    expect(result.shares).toEqual(shares);
    expect(redistributeListState(old, parallelism)).toEqual(result);
  });

  it('unions every old subtask, whatever the new parallelism', () => {
    const old = [{ a: [1, 2] }, { a: [3] }];
    for (const p of [1, 2, 5]) expect(redistributeListState(old, p).union).toEqual({ a: [1, 2, 3] });
  });

  it('loses and duplicates nothing, balances shares within one item and keeps each share in order (p -> p\')', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(), { maxLength: 20 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 9 }),
        (lists, parallelism) => {
          // Items are unique (old subtask, index) pairs, so a duplicate would show.
          const old = lists.map((items, s) => ({ items: items.map((_, i) => `${s}:${i}`) }));
          const { shares } = redistributeListState(old, parallelism);
          expect(shares).toHaveLength(parallelism);
          const dealt = shares.flatMap((share) => share.items as string[]);
          expect([...dealt].sort()).toEqual(old.flatMap((o) => o.items).sort());
          const sizes = shares.map((share) => (share.items as string[]).length);
          if (old.length !== parallelism) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          const rank = (item: string) => old.flatMap((o) => o.items).indexOf(item);
          for (const share of shares) {
            const ranks = (share.items as string[]).map(rank);
            expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
          }
        },
      ),
    );
  });
});

describe('restoring at another parallelism', () => {
  const checkpoint = (
    operators: CompletedCheckpoint['operators'],
    sources: CompletedCheckpoint['sources'] = {},
  ): { location: string; checkpoint: CompletedCheckpoint } => ({
    location: 'mem',
    checkpoint: { version: 2, jobName: 'j', checkpointId: 7, timestamp: 0, final: false, operators, sources },
  });
  const target = (id: string, parallelism: number, rescalableSource = false): RestoreTarget => ({ id, name: id, parallelism, rescalableSource });

  it('deals list state out and gives every subtask the union; keyed state still moves by key group', () => {
    const subtasks: OperatorSnapshot[] = [
      { listState: { buffered: ['a', 'b', 'c'] }, keyedState: { states: { n: { kind: 'value', entries: [[1, 10]] } } }, timers: [] },
      { listState: { buffered: ['d'] }, keyedState: { states: { n: { kind: 'value', entries: [[2, 20]] } } }, timers: [] },
    ];
    const assigned = assignRestoredState(checkpoint({ op: { name: 'op', parallelism: 2, subtasks } }), [target('op', 3)]).get('op')!;
    expect(assigned.map((s) => s.snapshot?.listState)).toEqual([{ buffered: ['a', 'd'] }, { buffered: ['b'] }, { buffered: ['c'] }]);
    for (const s of assigned) expect(s.unionListState).toEqual({ buffered: ['a', 'b', 'c', 'd'] });
    const keyed = assigned.flatMap((s) => s.snapshot?.keyedState?.states.n?.entries ?? []);
    expect(keyed.sort()).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });

  it("gives a non-keyed operator's subtasks no keyed state, so they restore", () => {
    const assigned = assignRestoredState(checkpoint({ op: { name: 'op', parallelism: 2, subtasks: [{}, {}] } }), [target('op', 3)]).get('op')!;
    expect(assigned.map((s) => s.snapshot)).toEqual([{}, {}, {}]);
  });

  it('refuses opaque operator state, naming the operator and the parallelism to restore at', () => {
    const stored = checkpoint({ op: { name: 'op', parallelism: 2, subtasks: [{ operatorState: 1 }, { operatorState: 2 }] } });
    expect(() => assignRestoredState(stored, [target('op', 3)])).toThrow(InvalidJobError);
    expect(() => assignRestoredState(stored, [target('op', 3)])).toThrow(
      /operator 'op' ran with parallelism 2 and now has 3, and its operator state \(what its snapshotState\(\) returns\) cannot be re-split.*setParallelism\(2\)/,
    );
  });

  const sources = (positions: unknown[]) => checkpoint({}, { src: { name: 'src', parallelism: positions.length, positions } });

  it("deals a rescalable source's splits out round-robin", () => {
    const assigned = assignRestoredState(sources([['f0', 'f2'], ['f1']]), [target('src', 4, true)]).get('src')!;
    expect(assigned.map((s) => s.position)).toEqual([['f0'], ['f2'], ['f1'], []]);
  });

  it('refuses to re-split a source that is not rescalable, or whose positions are not lists', () => {
    expect(() => assignRestoredState(sources([1, 2]), [target('src', 1)])).toThrow(
      /source 'src' ran with parallelism 2 and now has 1, and its positions cannot be re-split \(it is not a rescalable source, see Source\.rescalable\)\. Restore it at parallelism 2/,
    );
    expect(() => assignRestoredState(sources([1, 2]), [target('src', 1, true)])).toThrow(/its positions are not lists of splits/);
  });

  it('keeps positions as they are at the same parallelism', () => {
    expect(assignRestoredState(sources([5, 6]), [target('src', 2)]).get('src')!.map((s) => s.position)).toEqual([5, 6]);
  });
});

describe('operator list state in snapshots', () => {
  const contextFor = () =>
    createOperatorContext(
      {
        name: 'op',
        subtaskIndex: 0,
        parallelism: 1,
        clock: new ManualClock(0),
        metrics: new MetricRegistry().group('t'),
        output: { collect: () => undefined, collectSide: () => undefined },
        task: { execute: (a) => a(), fail: () => undefined, backpressure: () => undefined, signal: new AbortController().signal },
      },
      () => undefined,
    );

  it('asks for both parts at the barrier, before either promise settles, and stores a copy of the lists', async () => {
    const calls: string[] = [];
    const items = ['a'];
    const operator: OneInputStreamOperator<unknown> = {
      processElement: () => undefined,
      snapshotState: (id) => {
        calls.push(`state ${id}`);
        return Promise.resolve('s');
      },
      snapshotListState: (id) => {
        calls.push(`lists ${id}`);
        return { items };
      },
    };
    const snapshot = snapshotOperator(contextFor(), operator, 3);
    expect(calls).toEqual(['state 3', 'lists 3']);
    items.push('changed after the barrier');
    expect(await snapshot).toEqual({ operatorState: 's', listState: { items: ['a'] } });
  });

  it('rejects list state that is not arrays by name, naming the operator', () => {
    const operator = { processElement: () => undefined, snapshotListState: () => ({ items: 'nope' }) as never };
    expect(() => snapshotOperator(contextFor(), operator, 1)).toThrow(/'op'.*snapshotListState\(\) must return an object whose every value is an array/);
  });

  it('hands the share and the union to initializeListState, and the share as union when none is given', () => {
    const seen: [OperatorListState, OperatorListState][] = [];
    const operator: OneInputStreamOperator<unknown> = {
      processElement: () => undefined,
      initializeListState: (lists, union) => seen.push([lists, union]),
    };
    restoreOperator(contextFor(), operator, { listState: { a: [1] } }, { a: [1, 2] });
    restoreOperator(contextFor(), operator, { listState: { a: [3] } });
    restoreOperator(contextFor(), operator, {});
    expect(seen).toEqual([
      [{ a: [1] }, { a: [1, 2] }],
      [{ a: [3] }, { a: [3] }],
    ]);
  });
});
