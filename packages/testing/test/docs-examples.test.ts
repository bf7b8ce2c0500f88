// The examples of docs/testing.md. Each `#region` below appears verbatim in the
// guide; the last test checks that it still does, so the guide shows code that runs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// #region batch-function
// embed.ts: the batch function under test. It calls an embeddings endpoint
// with a whole batch and pairs every text with its vector.
export interface EmbeddingClient {
  call(texts: readonly string[], options: { signal?: AbortSignal }): Promise<number[][]>;
}

export interface Embedded {
  readonly text: string;
  readonly vector: number[];
}

export function embedBatch(client: EmbeddingClient) {
  return async (texts: readonly string[], ctx: { signal: AbortSignal }): Promise<Embedded[]> => {
    const vectors = await client.call(texts, { signal: ctx.signal });
    if (vectors.length !== texts.length) {
      throw new Error(`expected ${texts.length} vectors, got ${vectors.length}`);
    }
    return texts.map((text, i) => ({ text, vector: vectors[i]! }));
  };
}
// #endregion batch-function

// #region batch-function-test
import { FakeBatchService, ManualClock } from '@tributary/testing';

describe('embedBatch', () => {
  function fakeEndpoint(options: { failRecords?: (text: string) => boolean; hangCalls?: number[] } = {}) {
    const clock = new ManualClock(0);
    const service = new FakeBatchService<string, number[]>({
      clock,
      handler: (texts) => texts.map((t) => [t.length]),
      latency: { baseMs: 20, perItemMs: 1 },
      ...options,
    });
    return { clock, service };
  }

  it('pairs every text with its vector, after the endpoint answers', async () => {
    const { clock, service } = fakeEndpoint();
    // The shape the async batch operator calls it in: a readonly batch (a mutable parameter would not compile here).
    const embed: (texts: readonly string[], ctx: { signal: AbortSignal }) => Promise<Embedded[]> = embedBatch(service);

    const result = embed(['a', 'bb'], { signal: new AbortController().signal });
    await clock.advance(22); // 20 ms + 1 ms per text

    await expect(result).resolves.toEqual([
      { text: 'a', vector: [1] },
      { text: 'bb', vector: [2] },
    ]);
    expect(service.calls[0]).toMatchObject({ inputs: ['a', 'bb'], startedAt: 0, finishedAt: 22 });
  });

  it('fails the batch that carries a poison record', async () => {
    const { clock, service } = fakeEndpoint({ failRecords: (t) => t === '' });
    const result = embedBatch(service)(['ok', ''], { signal: new AbortController().signal });
    const failed = expect(result).rejects.toThrow(/poison record at index 1/);
    await clock.advance(22);
    await failed;
  });

  it('gives up when the operator aborts the call (a timeout)', async () => {
    const { service } = fakeEndpoint({ hangCalls: [1] });
    const timeout = new AbortController();
    const result = embedBatch(service)(['a'], { signal: timeout.signal });

    timeout.abort();

    await expect(result).rejects.toMatchObject({ name: 'AbortError' });
    expect(service.calls[0]?.outcome).toBe('aborted');
  });
});
// #endregion batch-function-test

// #region keyed-function
// alerts.ts: flags a card that is used more than twice within a minute.
import { OutputTag, ValueStateDescriptor, type KeyedProcessFunction, type ValueState } from '@tributary/core';

export interface Payment {
  readonly card: string;
  readonly amount: number;
}

export const rejected = new OutputTag<Payment>('rejected');
const USES = new ValueStateDescriptor<number>('uses', 0);

export const tooManyUses: KeyedProcessFunction<string, Payment, string> & { uses?: ValueState<number> } = {
  open(ctx) {
    this.uses = ctx.getState(USES);
  },
  processElement(payment, ctx, out) {
    if (payment.amount <= 0) {
      ctx.output(rejected, payment);
      return;
    }
    const uses = this.uses!.value()! + 1;
    this.uses!.update(uses);
    if (uses === 1) ctx.timerService.registerProcessingTimeTimer(ctx.timerService.currentProcessingTime() + 60_000);
    if (uses === 3) out.collect(`card ${ctx.currentKey}: 3 uses within a minute`);
  },
  onTimer() {
    this.uses!.clear(); // the minute is over: start counting again
  },
};
// #endregion keyed-function

// #region keyed-function-test
import { KeyedOneInputOperatorHarness } from '@tributary/testing';

describe('tooManyUses', () => {
  const byCard = (p: Payment) => p.card;

  it('alerts on the third use within a minute, per card', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(tooManyUses, byCard);
    await harness.open();

    harness.processElements([
      { card: 'A', amount: 10 },
      { card: 'B', amount: 10 },
      { card: 'A', amount: 10 },
    ]);
    await harness.setProcessingTime(30_000);
    harness.processElement({ card: 'A', amount: 10 });

    expect(harness.getOutput()).toEqual(['card A: 3 uses within a minute']);
    expect(harness.numProcessingTimeTimers()).toBe(2); // one per card
  });

  it('forgets the uses when the minute is over', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(tooManyUses, byCard);
    await harness.open();

    harness.processElements([
      { card: 'A', amount: 10 },
      { card: 'A', amount: 10 },
    ]);
    await harness.setProcessingTime(60_000); // the timer fires and clears the count
    harness.processElement({ card: 'A', amount: 10 });

    expect(harness.getOutput()).toEqual([]);
  });

  it('sends non-positive amounts to the side output', async () => {
    const harness = KeyedOneInputOperatorHarness.forKeyedProcessFunction(tooManyUses, byCard);
    await harness.open();
    harness.processElement({ card: 'A', amount: 0 });
    expect(harness.getSideOutput(rejected)).toEqual([{ card: 'A', amount: 0 }]);
  });

  it('keeps counting after a restore from a snapshot', async () => {
    const before = KeyedOneInputOperatorHarness.forKeyedProcessFunction(tooManyUses, byCard);
    await before.open();
    before.processElements([
      { card: 'A', amount: 10 },
      { card: 'A', amount: 10 },
    ]);

    const after = KeyedOneInputOperatorHarness.forKeyedProcessFunction(tooManyUses, byCard);
    after.initializeState(before.snapshot());
    await after.open();
    after.processElement({ card: 'A', amount: 10 });

    expect(after.getOutput()).toEqual(['card A: 3 uses within a minute']);
  });
});
// #endregion keyed-function-test

// #region job-test
import { StreamExecutionEnvironment } from '@tributary/core';
import { collect, runJobToCompletion } from '@tributary/testing';

describe('the alerting job', () => {
  it('runs end to end under a manual clock', async () => {
    const clock = new ManualClock(0);
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', clock, parallelism: 2 });

    async function* payments() {
      yield { card: 'A', amount: 10 };
      yield { card: 'A', amount: -1 };
      yield { card: 'A', amount: 10 };
      yield { card: 'A', amount: 10 }; // third use: alert
      // The source waits on the job's clock: the test moves it, nobody sleeps.
      await new Promise<void>((resolve) => clock.schedule(clock.now() + 90_000, resolve));
      yield { card: 'A', amount: 10 }; // a new minute: counting starts again
      yield { card: 'A', amount: 10 };
    }

    const alerts = env.fromAsyncIterable(() => payments()).keyBy((p) => p.card).process(tooManyUses);
    const output = collect(alerts);
    const refused = collect(alerts.getSideOutput(rejected));

    const result = await runJobToCompletion(env.executeAsync('alerts'), clock);

    expect(result.status).toBe('finished');
    expect(output).toEqual(['card A: 3 uses within a minute']);
    expect(refused).toEqual([{ card: 'A', amount: -1 }]);
    expect(clock.now()).toBe(90_000);
  });
});
// #endregion job-test

describe('docs/testing.md', () => {
  it('shows every example of this file verbatim', () => {
    const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const guide = readFileSync(fileURLToPath(new URL('../../../docs/testing.md', import.meta.url)), 'utf8');
    const regions = [...source.matchAll(/\/\/ #region ([\w-]+)\n([\s\S]*?)\/\/ #endregion \1\n/g)];
    expect(regions.map((r) => r[1])).toEqual(['batch-function', 'batch-function-test', 'keyed-function', 'keyed-function-test', 'job-test']);
    for (const [, name, code] of regions) {
      expect(guide.includes(code!.trimEnd()), `docs/testing.md should contain the region '${name}' verbatim`).toBe(true);
    }
  });
});
