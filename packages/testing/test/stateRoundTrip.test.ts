import {
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type ListState,
  type MapState,
  type ReducingState,
  type RuntimeContext,
  type ValueState,
} from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { KeyedOneInputOperatorHarness } from '../src/index.js';

interface Visit {
  readonly user: string;
  readonly page: string;
  readonly at: Date;
  readonly bytes: bigint;
}

interface Profile {
  readonly pages: Set<string>;
  readonly lastSeen: Date;
  readonly histogram: Float64Array;
}

/** Keeps every kind of keyed state, with values JSON could not carry, and reports them on a timer. */
class VisitTracker implements KeyedProcessFunction<string, Visit, string> {
  private profile!: ValueState<Profile>;
  private visits!: ListState<Visit>;
  private perPage!: MapState<string, Map<string, number>>;
  private bytes!: ReducingState<bigint>;

  open(ctx: RuntimeContext) {
    this.profile = ctx.getState(new ValueStateDescriptor<Profile>('profile'));
    this.visits = ctx.getListState(new ListStateDescriptor<Visit>('visits'));
    this.perPage = ctx.getMapState(new MapStateDescriptor<string, Map<string, number>>('perPage'));
    this.bytes = ctx.getReducingState(new ReducingStateDescriptor<bigint>('bytes', (a, b) => a + b));
  }

  processElement(v: Visit, ctx: KeyedProcessContext<string>) {
    const old = this.profile.value();
    const histogram = old?.histogram ?? new Float64Array(3);
    histogram[v.page.length % 3]! += 1;
    this.profile.update({ pages: new Set([...(old?.pages ?? []), v.page]), lastSeen: v.at, histogram });
    this.visits.add(v);
    const counts = this.perPage.get(v.page) ?? new Map<string, number>();
    counts.set(v.at.toISOString().slice(0, 10), (counts.get(v.at.toISOString().slice(0, 10)) ?? 0) + 1);
    this.perPage.put(v.page, counts);
    this.bytes.add(v.bytes);
    ctx.timerService.registerProcessingTimeTimer(1_000);
  }

  onTimer(ts: number, ctx: KeyedProcessContext<string>, out: Collector<string>) {
    const p = this.profile.value()!;
    const pages = [...this.perPage.entries()].map(([page, days]) => `${page}:${[...days].map(([d, n]) => `${d}=${n}`).join('+')}`);
    out.collect(
      `${ctx.currentKey}@${ts} pages=${[...p.pages].join('|')} last=${p.lastSeen.toISOString()} hist=${[...p.histogram].join(',')} ` +
        `visits=${this.visits.get().length} perPage=${pages.join(';')} bytes=${this.bytes.get()}`,
    );
  }
}

const visits: Visit[] = [
  { user: 'ann', page: '/a', at: new Date('2026-11-01T10:00:00Z'), bytes: 2n ** 60n },
  { user: 'bob', page: '/bb', at: new Date('2026-11-01T11:00:00Z'), bytes: 5n },
  { user: 'ann', page: '/ccc', at: new Date('2026-11-02T09:00:00Z'), bytes: 7n },
];
const later: Visit = { user: 'ann', page: '/a', at: new Date('2026-11-03T08:00:00Z'), bytes: 1n };

function harness() {
  return KeyedOneInputOperatorHarness.forKeyedProcessFunction(new VisitTracker(), (v: Visit) => v.user);
}

describe('snapshot and restore of every state kind', () => {
  it('restores value, list, map and reducing state (Map, Set, Date, BigInt, typed arrays) and pending timers', async () => {
    // Reference: one harness that never stops.
    const reference = harness();
    await reference.open();
    reference.processElements([...visits, later]);
    await reference.setProcessingTime(1_000);

    // The same input, with a snapshot and a restore into a fresh harness in the middle.
    const first = harness();
    await first.open();
    first.processElements(visits);
    const snapshot = first.snapshot();
    await first.close();
    expect(first.getOutput()).toEqual([]);

    const second = harness();
    second.initializeState(snapshot);
    await second.open();
    expect(second.numProcessingTimeTimers()).toBe(2);
    second.processElement(later);
    await second.setProcessingTime(1_000);

    expect(second.getOutput()).toEqual(reference.getOutput());
    expect(second.getOutput()).toContain(
      `ann@1000 pages=/a|/ccc last=2026-11-03T08:00:00.000Z hist=0,1,2 visits=3 perPage=/a:2026-11-01=1+2026-11-03=1;/ccc:2026-11-02=1 bytes=${2n ** 60n + 8n}`,
    );
  });

  it('snapshots are copies: later changes do not leak into them', async () => {
    const h = harness();
    await h.open();
    h.processElement(visits[0]!);
    const snapshot = h.snapshot();
    h.processElements([later, later]);
    const restored = harness();
    restored.initializeState(snapshot);
    await restored.open();
    await restored.setProcessingTime(1_000);
    expect(restored.getOutput()).toEqual([
      'ann@1000 pages=/a last=2026-11-01T10:00:00.000Z hist=0,0,1 visits=1 perPage=/a:2026-11-01=1 bytes=1152921504606846976',
    ]);
  });
});
