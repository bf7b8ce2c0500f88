import { describe, expect, it } from 'vitest';
import { CheckpointBarrier } from '../src/runtime/checkpoint/CheckpointBarrier.js';
import { BarrierAligner } from '../src/runtime/BarrierAligner.js';
import { InputChannel } from '../src/runtime/InputChannel.js';

/** What one producer sends, in its order: a chunk of one record, the barrier of checkpoint 1, or its end. */
type Event = { record: string } | 'barrier' | 'end';

/** Every interleaving of the producers' sequences (each producer's own order kept). */
function* interleavings(sequences: readonly (readonly Event[])[]): Generator<{ producer: number; event: Event }[]> {
  const next = sequences.map(() => 0);
  const order: { producer: number; event: Event }[] = [];
  function* step(): Generator<{ producer: number; event: Event }[]> {
    if (order.length === sequences.reduce((n, s) => n + s.length, 0)) {
      yield [...order];
      return;
    }
    for (let p = 0; p < sequences.length; p++) {
      const event = (sequences[p] as readonly Event[])[next[p] as number];
      if (event === undefined) continue;
      next[p] = (next[p] as number) + 1;
      order.push({ producer: p, event });
      yield* step();
      order.pop();
      next[p] = (next[p] as number) - 1;
    }
  }
  yield* step();
}

/** A record, or 'BARRIER' and 'END' where the channel handed those out. */
type Output = string;

/** Reads everything the channel hands out now. */
function drain(channel: InputChannel<string>, out: Output[]): void {
  for (;;) {
    const item = channel.poll();
    if (item === undefined) return;
    if (item === null) {
      out.push('END');
      return;
    }
    if (item instanceof CheckpointBarrier) out.push('BARRIER');
    else out.push(...item);
  }
}

/**
 * Producer p sends records `p:a` before its barrier and `p:b` after it; `endsEarly` producers end
 * before their barrier. With `lateEnds`, the other producers' ends come after every interleaved
 * event (3 inputs: 1,680 orders instead of 34,650), else they interleave too.
 */
function scripts(inputs: number, endsEarly: readonly number[], lateEnds: boolean): { interleaved: Event[][]; after: { producer: number; event: Event }[] } {
  const withBarrier = (p: number): Event[] => [{ record: `${p}:a` }, 'barrier', { record: `${p}:b` }, ...(lateEnds ? [] : ['end' as const])];
  const producers = Array.from({ length: inputs }, (_, p) => p);
  return {
    interleaved: producers.map((p) => (endsEarly.includes(p) ? [{ record: `${p}:a` }, 'end'] : withBarrier(p))),
    after: lateEnds ? producers.filter((p) => !endsEarly.includes(p)).map((producer) => ({ producer, event: 'end' as const })) : [],
  };
}

/**
 * Feeds one arrival order into a channel and returns what went wrong, if anything. `eager`: the
 * reader drains after every arrival, so the barrier must come out exactly when alignment completes.
 */
function run(order: readonly { producer: number; event: Event }[], inputs: number, endsEarly: readonly number[], eager: boolean): string | undefined {
  const channel = new InputChannel<string>(inputs, 100);
  const out: Output[] = [];
  /** Arrivals left before alignment can complete: every barrier, and the ends of producers without one. */
  let alignmentNeeds = inputs;
  for (const { producer, event } of order) {
    if (event === 'barrier') channel.pushBarrier(producer, new CheckpointBarrier(1));
    else if (event === 'end') channel.endOfInput(producer);
    else channel.push(producer, [event.record]);
    if (event === 'barrier' || (event === 'end' && endsEarly.includes(producer))) alignmentNeeds--;
    if (!eager) continue;
    drain(channel, out);
    if (out.includes('BARRIER') !== (alignmentNeeds === 0)) return `barrier released: ${out.includes('BARRIER')}, aligned: ${alignmentNeeds === 0} (${out.join(' ')})`;
  }
  drain(channel, out);
  const got = out.join(' ');
  if (out.filter((o) => o === 'BARRIER').length !== 1) return `not exactly one barrier: ${got}`;
  if (out.at(-1) !== 'END') return `no end of input: ${got}`;
  const barrierAt = out.indexOf('BARRIER');
  for (let p = 0; p < inputs; p++) {
    const mine = out.filter((o) => o.startsWith(`${p}:`)).join(' ');
    // None lost, none reordered within an input.
    if (mine !== (endsEarly.includes(p) ? `${p}:a` : `${p}:a ${p}:b`)) return `input ${p} delivered ${mine}: ${got}`;
    // Records before a barrier belong to its checkpoint; records behind it were held until it was released.
    if (out.indexOf(`${p}:a`) > barrierAt) return `${p}:a after the barrier: ${got}`;
    if (!endsEarly.includes(p) && out.indexOf(`${p}:b`) < barrierAt) return `${p}:b passed the barrier: ${got}`;
  }
  if (channel.bufferedRecords !== 0) return `bufferedRecords ${channel.bufferedRecords} at the end`;
  return undefined;
}

/** The multinomial coefficient: how many interleavings there are. */
function expectedOrders(sequences: readonly (readonly Event[])[]): number {
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  return sequences.reduce((n, s) => n / factorial(s.length), factorial(sequences.reduce((n, s) => n + s.length, 0)));
}

const cases = [
  { inputs: 2, endsEarly: [], lateEnds: false },
  { inputs: 2, endsEarly: [0], lateEnds: false },
  { inputs: 3, endsEarly: [], lateEnds: true },
  { inputs: 3, endsEarly: [1], lateEnds: false },
  { inputs: 3, endsEarly: [0, 2], lateEnds: false },
];

describe('barrier alignment in a channel, for every arrival order of records, barriers and ends', () => {
  describe.each(cases)('$inputs inputs, ending before the barrier: $endsEarly, other ends last: $lateEnds', ({ inputs, endsEarly, lateEnds }) => {
    const { interleaved, after } = scripts(inputs, endsEarly, lateEnds);

    it.each([{ reads: 'after every arrival' }, { reads: 'only once everything arrived' }])('read $reads', ({ reads }) => {
      const problems: string[] = [];
      let orders = 0;
      for (const order of interleavings(interleaved)) {
        orders++;
        const problem = run([...order, ...after], inputs, endsEarly, reads === 'after every arrival');
        if (problem !== undefined && problems.length < 5) {
          problems.push(`${order.map(({ producer, event }) => (typeof event === 'string' ? `${producer}:${event}` : event.record)).join(' ')}: ${problem}`);
        }
      }
      expect(problems).toEqual([]);
      expect(orders).toBe(expectedOrders(interleaved));
    });
  });

});

describe('barrier alignment, single cases', () => {
  it('holds an aligned input back while the other is still empty, and reads the others meanwhile', () => {
    const channel = new InputChannel<string>(3, 100);
    channel.pushBarrier(0, new CheckpointBarrier(7));
    channel.push(0, ['held']);
    channel.push(1, ['free']);
    expect(channel.poll()).toEqual(['free']);
    expect(channel.poll()).toBeUndefined();
    channel.pushBarrier(1, new CheckpointBarrier(7));
    expect(channel.poll()).toBeUndefined();
    channel.pushBarrier(2, new CheckpointBarrier(7));
    expect(channel.poll()).toEqual(new CheckpointBarrier(7));
    expect(channel.poll()).toEqual(['held']);
    expect(channel.poll()).toBeUndefined();
  });

  // A coordinator that aborts a checkpoint lets barriers cross: a source that had not yet taken the aborted
  // request injects only the next one (Task.triggerCheckpoint keeps the newest).
  it('abandons an alignment when a newer barrier comes, and drops an older one', () => {
    const channel = new InputChannel<string>(2, 100);
    channel.pushBarrier(0, new CheckpointBarrier(1));
    channel.push(0, ['0:between']);
    channel.pushBarrier(0, new CheckpointBarrier(2));
    channel.push(0, ['0:after']);
    channel.push(1, ['1:before']);
    channel.pushBarrier(1, new CheckpointBarrier(2));
    channel.push(1, ['1:after']);
    const out: unknown[] = [];
    for (let item = channel.poll(); item !== undefined; item = channel.poll()) out.push(item);
    // Checkpoint 2 splits both inputs where their barrier 2 is; barrier 1 is released for neither.
    expect(out.slice(0, 3)).toEqual([['1:before'], ['0:between'], new CheckpointBarrier(2)]);
    expect(out.slice(3).flat().sort()).toEqual(['0:after', '1:after']);

    const aligner = new BarrierAligner(2);
    expect(aligner.onBarrier(1, new CheckpointBarrier(4))).toBeUndefined();
    expect(aligner.onBarrier(0, new CheckpointBarrier(3))).toBeUndefined();
    expect(aligner.isBlocked(0)).toBe(false);
    expect(aligner.onBarrier(0, new CheckpointBarrier(4))).toEqual(new CheckpointBarrier(4));
    // A barrier of a checkpoint already released or abandoned starts nothing.
    expect(aligner.onBarrier(1, new CheckpointBarrier(3))).toBeUndefined();
    expect(aligner.isBlocked(1)).toBe(false);
  });

  it('wakes a producer whose full queue the reader took a barrier from', async () => {
    const channel = new InputChannel<string>(2, 1);
    channel.pushBarrier(0, new CheckpointBarrier(1));
    let woken = false;
    const waiting = channel.writable(0).then(() => (woken = true));
    expect(channel.poll()).toBeUndefined();
    await waiting;
    expect(woken).toBe(true);
  });

  it.each([
    { name: 'from the first input to the last', events: [{ at: 5, input: 0 }, { at: 12, input: 1 }, { at: 20, input: 2 }], expected: 15 },
    { name: 'with one input: nothing to wait for', inputs: 1, events: [{ at: 5, input: 0 }], expected: 0 },
    { name: 'until an input ends instead', events: [{ at: 3, input: 0 }, { at: 4, input: 1 }, { at: 9, end: 2 }], expected: 6 },
  ])('measures the alignment $name', ({ inputs = 3, events, expected }) => {
    let now = 0;
    const aligner = new BarrierAligner(inputs, () => now);
    let released: CheckpointBarrier | undefined;
    for (const event of events) {
      now = event.at;
      released = 'end' in event ? aligner.onEndOfInput(event.end) : aligner.onBarrier(event.input, new CheckpointBarrier(1));
    }
    expect(released).toEqual(new CheckpointBarrier(1));
    expect(aligner.alignmentMs).toBe(expected);
  });
});
