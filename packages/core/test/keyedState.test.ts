import { describe, expect, it } from 'vitest';
import {
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Collector,
  type FilterFunction,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type ListState,
  type MapFunction,
  type MapState,
  type ReducingState,
  type RuntimeContext,
  type ValueState,
} from '../src/index.js';

interface Event {
  user: string;
  item: string;
  amount: number;
}

/** Uses every kind of keyed state; emits a summary of the key's state after each event. */
class UserSummary implements KeyedProcessFunction<string, Event, string> {
  private count!: ValueState<number>;
  private items!: ListState<string>;
  private perItem!: MapState<string, number>;
  private total!: ReducingState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor('count', 0));
    this.items = ctx.getListState(new ListStateDescriptor<string>('items'));
    this.perItem = ctx.getMapState(new MapStateDescriptor<string, number>('perItem'));
    this.total = ctx.getReducingState(new ReducingStateDescriptor<number>('total', (a, b) => a + b));
  }

  processElement(e: Event, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
    this.count.update((this.count.value() ?? 0) + 1);
    this.items.add(e.item);
    this.perItem.put(e.item, (this.perItem.get(e.item) ?? 0) + e.amount);
    this.total.add(e.amount);
    const perItem = [...this.perItem.entries()].sort().map(([k, v]) => `${k}=${v}`).join(',');
    out.collect(`${ctx.currentKey}#${this.count.value()} items=${this.items.get().join('|')} per=${perItem} total=${this.total.get()}`);
  }
}

const users = ['ann', 'bob', 'cid', 'dee', 'eve', 'fay', 'gus'];
const events: Event[] = Array.from({ length: 700 }, (_, i) => ({
  user: users[(i * 7 + (i >> 3)) % users.length]!,
  item: `i${i % 5}`,
  amount: (i % 13) + 1,
}));

/** The same computation over a plain array: what each event's summary must be. */
function referenceSummaries(): string[] {
  const byUser = new Map<string, { count: number; items: string[]; perItem: Map<string, number>; total: number }>();
  return events.map((e) => {
    const s = byUser.get(e.user) ?? { count: 0, items: [], perItem: new Map<string, number>(), total: 0 };
    byUser.set(e.user, s);
    s.count++;
    s.items.push(e.item);
    s.perItem.set(e.item, (s.perItem.get(e.item) ?? 0) + e.amount);
    s.total += e.amount;
    const perItem = [...s.perItem.entries()].sort().map(([k, v]) => `${k}=${v}`).join(',');
    return `${e.user}#${s.count} items=${s.items.join('|')} per=${perItem} total=${s.total}`;
  });
}

/** Counts per key from an object default value, changing the object it reads. */
class CountFromDefault implements MapFunction<string, string> {
  private counter!: ValueState<{ n: number }>;
  open(ctx: RuntimeContext): void {
    this.counter = ctx.getState(new ValueStateDescriptor('counter', { n: 0 }));
  }
  map(k: string): string {
    const seen = this.counter.value() as { n: number };
    seen.n++;
    this.counter.update(seen);
    return `${k}:${seen.n}`;
  }
}

/** Keeps the first record of each key: a rich filter with keyed state. */
class FirstOfKey implements FilterFunction<string> {
  private seen!: ValueState<boolean>;
  open(ctx: RuntimeContext): void {
    this.seen = ctx.getState(new ValueStateDescriptor<boolean>('seen'));
  }
  filter(): boolean {
    if (this.seen.value() === true) return false;
    this.seen.update(true);
    return true;
  }
}

describe('keyed state', () => {
  it.each([1, 4])('scopes value, list, map and reducing state to the key (parallelism %i)', async (parallelism) => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism, chunkSize: 16 });
    const out = await env.fromCollection(events).keyBy((e) => e.user).process(new UserSummary()).executeAndCollect();
    expect([...out].sort()).toEqual(referenceSummaries().sort());
    // Within one key, order is kept (one key lives on one subtask).
    for (const user of users) {
      const mine = out.filter((line) => line.startsWith(`${user}#`));
      expect(mine).toEqual(referenceSummaries().filter((line) => line.startsWith(`${user}#`)));
    }
  });

  it('rolls reduce per key and emits every intermediate value', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 3 });
    const out = await env
      .fromElements<[string, number]>(['a', 1], ['b', 10], ['a', 2], ['b', 20], ['a', 3])
      .keyBy(([k]) => k)
      .reduce(([k, x], [, y]) => [k, x + y])
      .executeAndCollect();
    expect(out.filter(([k]) => k === 'a').map(([, v]) => v)).toEqual([1, 3, 6]);
    expect(out.filter(([k]) => k === 'b').map(([, v]) => v)).toEqual([10, 30]);
  });

  it('rejects keyed state outside a keyed stream and a state name reused with another kind', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const notKeyed = env.fromElements(1).map({
      open(ctx: RuntimeContext) {
        ctx.getState(new ValueStateDescriptor<number>('x'));
      },
      map: (n: number) => n,
    });
    await expect(notKeyed.executeAndCollect('not keyed')).rejects.toThrow(/only available on a keyed stream/);

    const env2 = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const clash = env2.fromElements(1).keyBy((n) => n).map({
      open(ctx: RuntimeContext) {
        ctx.getState(new ValueStateDescriptor<number>('x'));
        ctx.getListState(new ListStateDescriptor<number>('x'));
      },
      map: (n: number) => n,
    });
    await expect(clash.executeAndCollect('clash')).rejects.toThrow(/State 'x' is already registered as a value state/);
  });

  it("gives each key its own copy of an object default value: one key's changes are not another's default", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const out = await env
      .fromElements('a', 'a', 'b', 'c', 'a')
      .keyBy((k) => k)
      .map(new CountFromDefault())
      .executeAndCollect();
    // Before, every key started from the one default object: a:1 a:2 b:3 c:4 a:5.
    expect(out).toEqual(['a:1', 'a:2', 'b:1', 'c:1', 'a:3']);
  });

  it('refuses a default value that cannot be copied for each key, naming the state', () => {
    expect(() => new ValueStateDescriptor('handlers', { onEvent: () => 1 })).toThrow("the default value of state 'handlers' cannot be copied for each key");
  });

  it('lets a filter on a keyed stream use keyed state, as a rich filter function can in Flink', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const firstOfEach = await env
      .fromElements('a', 'b', 'a', 'c', 'b', 'a')
      .keyBy((k) => k)
      .filter(new FirstOfKey())
      .executeAndCollect();
    // Before: "No current key: keyed state is only available while a keyed record or timer is processed".
    expect([...firstOfEach].sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('ListState.addAll', () => {
  /** Adds 300,000 values to its key's list, then one more, and emits what the list holds. */
  class AddMany implements KeyedProcessFunction<string, string, string> {
    private list!: ListState<number>;
    open(ctx: RuntimeContext): void {
      this.list = ctx.getListState(new ListStateDescriptor<number>('many'));
    }
    processElement(key: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
      this.list.addAll(Array.from({ length: 300_000 }, (_, i) => i));
      this.list.add(-1);
      const held = this.list.get();
      out.collect(`${key}: ${held.length} values, ${held[0]} ... ${held[299_999]}, ${held[300_000]}`);
    }
  }

  it('adds a list of any size (300,000 values: more than spread arguments take)', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const sizes = await env
      .fromElements('a', 'b')
      .keyBy((k) => k)
      .process(new AddMany())
      .executeAndCollect();
    expect(sizes.sort()).toEqual(['a: 300001 values, 0 ... 299999, -1', 'b: 300001 values, 0 ... 299999, -1']);
  });
});
