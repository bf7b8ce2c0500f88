import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  InvalidJobError,
  isPerSubtask,
  JobExecutionError,
  ManualClock,
  perSubtask,
  RestartStrategies,
  silentLogger,
  StreamExecutionEnvironment,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type RuntimeContext,
  type SingleOutputStream,
} from '../src/index.js';
import { driveUntilDone } from './support/gatedSource.js';

/** What each instance a factory made went through: the subtask that opened it, and how often it opened and closed. */
interface Life {
  subtask: number | undefined;
  opens: number;
  closes: number;
  records: number;
}

/** Base of the rich functions below: records its life in `lives`, one entry per instance. */
class Tracked {
  private readonly life: Life = { subtask: undefined, opens: 0, closes: 0, records: 0 };

  constructor(lives: Life[]) {
    lives.push(this.life);
  }

  open(ctx: RuntimeContext): void {
    this.life.subtask = ctx.subtaskIndex;
    this.life.opens++;
  }

  close(): void {
    this.life.closes++;
  }

  protected seen(): void {
    this.life.records++;
  }
}

class Double extends Tracked {
  map(n: number): number {
    this.seen();
    return n * 2;
  }
}

class Repeat extends Tracked {
  flatMap(n: number, out: Collector<number>): void {
    this.seen();
    out.collect(n);
  }
}

class Keep extends Tracked {
  filter(): boolean {
    this.seen();
    return true;
  }
}

class Forward extends Tracked {
  processElement(n: number, _ctx: unknown, out: Collector<number>): void {
    this.seen();
    out.collect(n);
  }
}

class KeyedForward extends Tracked {
  processElement(n: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    this.seen();
    out.collect(n);
  }
}

class Sum extends Tracked {
  reduce(a: number, b: number): number {
    this.seen();
    return a + b;
  }
}

const PARALLELISM = 3;
const INPUT = Array.from({ length: 60 }, (_, i) => i);

/** Each operator that takes a rich function, given a factory of one. */
const OPERATORS: readonly (readonly [string, (stream: DataStream<number>, lives: Life[]) => DataStream<number>])[] = [
  ['map', (s, lives) => s.map(perSubtask(() => new Double(lives)))],
  ['flatMap', (s, lives) => s.flatMap(perSubtask(() => new Repeat(lives)))],
  ['filter', (s, lives) => s.filter(perSubtask(() => new Keep(lives)))],
  ['process', (s, lives) => s.process(perSubtask(() => new Forward(lives)))],
  ['keyed map', (s, lives) => s.keyBy((n) => n % 7).map(perSubtask(() => new Double(lives)))],
  ['keyed flatMap', (s, lives) => s.keyBy((n) => n % 7).flatMap(perSubtask(() => new Repeat(lives)))],
  ['keyed process', (s, lives) => s.keyBy((n) => n % 7).process(perSubtask(() => new KeyedForward(lives)))],
  ['keyed reduce', (s, lives) => s.keyBy((n) => n % 7).reduce(perSubtask(() => new Sum(lives)))],
];

describe('perSubtask: a rich function given as a factory', () => {
  it.each(OPERATORS)('%s: one instance per subtask, each opened and closed once', async (name, apply) => {
    const lives: Life[] = [];
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: PARALLELISM, clock: new ManualClock(0), logger: silentLogger });
    const out = await apply(env.fromCollection(INPUT).rebalance(), lives).executeAndCollect('factories');
    expect(out).toHaveLength(INPUT.length);
    expect(lives.map((l) => l.subtask).sort()).toEqual([0, 1, 2]);
    expect(lives.every((l) => l.opens === 1 && l.closes === 1)).toBe(true);
    // Together the instances saw every record (a reduce is not called for the first record of each of the 7 keys).
    expect(lives.reduce((n, l) => n + l.records, 0)).toBe(name === 'keyed reduce' ? INPUT.length - 7 : INPUT.length);
  });

  it('makes new instances for a restart, each opened and closed once', async () => {
    const clock = new ManualClock(0);
    const lives: Life[] = [];
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2, clock, logger: silentLogger, restartStrategy: RestartStrategies.fixedDelay(1, 10) });
    let failed = false;
    env
      .fromElements(1, 2, 3, 4)
      .rebalance()
      .map(perSubtask(() => new Double(lives)))
      .map((n) => {
        if (!failed && n === 4) {
          failed = true;
          throw new Error('once');
        }
        return n;
      })
      .addSink(() => undefined);
    const result = env.execute('restart');
    await driveUntilDone(result, clock);
    expect((await result).restarts).toBe(1);
    expect(lives).toHaveLength(4);
    expect(lives.every((l) => l.opens === 1 && l.closes === 1)).toBe(true);
  });

  it('fails the job naming the operator when the factory returns no function of the right shape', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock: new ManualClock(0), logger: silentLogger });
    env
      .fromElements(1)
      .map(perSubtask(() => ({ mapp: (n: number) => n }) as never))
      .name('typo')
      .addSink(() => undefined);
    const run = env.execute('bad factory');
    await expect(run).rejects.toThrow(JobExecutionError);
    await expect(run).rejects.toThrow(/'typo'.*the perSubtask\(\) factory must return a function or an object with map\(\), got an object/);
  });

  it('needs a factory function, and is told apart from plain functions and objects', () => {
    expect(() => perSubtask({ map: () => 1 } as never)).toThrow(new InvalidJobError('perSubtask(): needs a factory function, got an object'));
    expect(isPerSubtask(perSubtask(() => ({})))).toBe(true);
    expect(isPerSubtask(() => ({}))).toBe(false);
    expect(isPerSubtask({ map: () => 1 })).toBe(false);
    // The brand is a registered symbol: a factory made by a second installed copy of core is recognised.
    expect(isPerSubtask({ [Symbol.for('tributary.perSubtask')]: true, create: () => ({}) })).toBe(true);
  });

  it('types: the factory form infers the output; a bare factory is not mistaken for one', () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread' });
    const numbers = env.fromElements(1, 2);
    class Label {
      map(n: number): string {
        return `#${n}`;
      }
    }
    expectTypeOf(numbers.map(perSubtask(() => new Label()))).toEqualTypeOf<SingleOutputStream<string>>();
    // Without perSubtask, a zero-argument function is a map function whose output is the instance.
    expectTypeOf(numbers.map(() => new Label())).toEqualTypeOf<SingleOutputStream<Label>>();
    // @ts-expect-error -- a factory of a map function does not fit filter()
    numbers.filter(perSubtask(() => new Label()));
  });
});
