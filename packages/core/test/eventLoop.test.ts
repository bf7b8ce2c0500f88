import { afterEach, describe, expect, it, vi } from 'vitest';
import { drain, drainTurns, ManualClock, StreamExecutionEnvironment, yieldToEventLoop } from '../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('drain()', () => {
  it('runs until no yieldToEventLoop is pending: a chain of 1,000 yields, each queued by the one before, completes', async () => {
    let done = 0;
    void (async () => {
      for (let i = 0; i < 1_000; i++) {
        await yieldToEventLoop();
        done++;
      }
    })();
    await drain();
    expect(done).toBe(1_000);
  });

  it('takes one turn for work it is not told of, and never reads the process handles: a bare setImmediate loop that never ends does not hold it', async () => {
    const handles = vi.spyOn(process, 'getActiveResourcesInfo');
    let pings = 0;
    let stopped = false;
    const ping = (): void => {
      pings++;
      if (!stopped) setImmediate(ping);
    };
    setImmediate(ping);
    await drain();
    stopped = true;
    expect(pings).toBeLessThanOrEqual(2);
    expect(handles).not.toHaveBeenCalled();
  });

  it("runs a job's tasks across their turns: a job of many chunks on a manual clock ends within one drain", async () => {
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), chunkSize: 1 });
    const out: number[] = [];
    env
      .fromAsyncIterable(
        (async function* () {
          for (let i = 0; i < 500; i++) yield i;
        })(),
      )
      .map((n) => n * 2)
      .addSink((n) => void out.push(n));
    let ended = false;
    void env.execute('turns').then(() => (ended = true));
    await drain();
    expect(out).toHaveLength(500);
    expect(ended).toBe(true);
  });

  it('drainTurns gives up after its turns on work that keeps yielding, and says whether the work rested', async () => {
    let stopped = false;
    void (async () => {
      while (!stopped) await yieldToEventLoop();
    })();
    expect(await drainTurns(10)).toBe(false);
    stopped = true;
    expect(await drainTurns(10)).toBe(true);
  });
});
