import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { UpdateView } from '../src/api.js';
import { UPDATE_INTERVAL_MS, UpdateStream } from '../src/UpdateStream.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A page's response: what was written to it, and whether its connection still holds unsent data (Node's `writableNeedDrain`). */
function page(): { res: ServerResponse; written: string[]; behind: { now: boolean } } {
  const written: string[] = [];
  const behind = { now: false };
  const res = {
    writeHead: () => res,
    write: (text: string) => written.push(text) > 0,
    end: (text?: string) => void (text === undefined || written.push(text)),
    on: () => res,
    get writableNeedDrain() {
      return behind.now;
    },
  };
  return { res: res as unknown as ServerResponse, written, behind };
}

it('skips the updates of a page whose connection still holds an unsent one, and sends it the next once it drained', () => {
  let tick = 0;
  const stream = new UpdateStream(() => ({ tick: tick++ }) as unknown as UpdateView);
  const reading = page();
  const stalled = page();
  stream.open(reading.res);
  stream.open(stalled.res);
  stalled.behind.now = true;
  vi.advanceTimersByTime(3 * UPDATE_INTERVAL_MS);
  // A page that never reads would otherwise make the process buffer every update, without limit.
  expect(reading.written).toHaveLength(4);
  expect(stalled.written).toHaveLength(1);
  stalled.behind.now = false;
  vi.advanceTimersByTime(UPDATE_INTERVAL_MS);
  expect(stalled.written).toHaveLength(2);
  // The update it gets is the current state, as every page's: each holds the whole state.
  expect(stalled.written[1]).toBe(reading.written[4]);
  stream.close();
});

it('sends the final state to every page when the job ends, one that is behind too', () => {
  let tick = 0;
  const stream = new UpdateStream(() => ({ tick: tick++ }) as unknown as UpdateView);
  const stalled = page();
  stream.open(stalled.res);
  stalled.behind.now = true;
  stream.end();
  // Skipped, it would leave the page showing a running job: the job is over, and no update follows.
  expect(stalled.written).toEqual([expect.stringContaining('"tick":0'), expect.stringContaining('"tick":1')]);
});
