import { describe, expect, it } from 'vitest';
import { PhasedRun } from '../src/scenarios/adaptiveBatching.js';

// Attribution of S8's figures at a phase boundary, not timing: only counts are asserted.
describe('S8: where a record at a phase boundary counts', () => {
  it('in the phase of the call that served it; records pulled before that phase first returned are counted apart', async () => {
    const run = new PhasedRun([
      { baseMs: 0, perItemMs: 0, records: 3 },
      { baseMs: 0, perItemMs: 0, records: 3 },
    ]);
    const pull = run.source();
    const take = (n: number): number[] => Array.from({ length: n }, () => pull.next().value as number);
    // Records 0-3 pulled; a call of [0, 1], then one of [2, 3] starting with a phase-1 record: record 3 (phase 2) is served in phase 1.
    const first = take(4);
    run.deliverAll(await run.call(first.slice(0, 2)));
    run.deliverAll(await run.call(first.slice(2)));
    // Record 4 was pulled before phase 2's first call returned, record 5 after.
    const [four] = take(1);
    const answer = run.call([four as number]);
    run.deliverAll(await answer);
    const [five] = take(1);
    run.deliverAll(await run.call([five as number]));
    run.check('boundary');
    const [one, two] = run.figures();
    expect(one!.meanBatch).toBe(2); // records 0-3: record 3 counts in phase 1
    expect(one!.heldAtChange).toBe(4); // all four were pulled before phase 1's first call returned
    expect(one!.p95KnownMs).toBe(0); // none left
    expect(two!.meanBatch).toBe(1);
    expect(two!.heldAtChange).toBe(1); // record 4; record 5 counts in the p95 of the rest
    expect(two!.p95KnownMs).toBeGreaterThan(0);
  });
});
