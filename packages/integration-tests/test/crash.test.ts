import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, type Runtime } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { readOutput, startCrashJob, writeEvents } from './crash/harness.js';
import type { CrashSink } from './crash/crash.job.js';
import { scoreOf, type Enriched, type Event } from './crash/model.js';

const EVENTS = 40_000;
const KILLS = 20;

/** The output each event must produce: its user's running total up to it. */
function reference(events: Event[]): Map<number, Enriched> {
  const totals = new Map<string, number>();
  return new Map(
    events.map((e) => {
      const total = (totals.get(e.user) ?? 0) + e.amount;
      totals.set(e.user, total);
      return [e.id, { id: e.id, user: e.user, total, score: scoreOf(e.id, total) }];
    }),
  );
}

/**
 * Runs the job until it finishes, killing it with SIGKILL `KILLS` times: each
 * time at a seeded random moment after the run stored at least one checkpoint
 * (so every run makes progress), then lets the last run finish.
 */
async function runWithKills(dir: string, guarantee: CrashSink, runtime: Runtime, seed: number): Promise<{ kills: number; runs: number; checkpoints: number }> {
  const random = seededRandom(seed);
  let kills = 0;
  let checkpoints = 0;
  for (let runs = 1; ; runs++) {
    const child = startCrashJob(dir, guarantee, runtime, 'inherit');
    const killAfterMs = kills < KILLS ? 5 + random() * 150 : undefined;
    let output = '';
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let killed = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout?.on('data', (data: Buffer) => {
      output += data.toString();
      if (output.includes('done finished')) clearTimeout(killTimer);
      else if (killAfterMs !== undefined && !killed && /checkpoint \d+/.test(output)) {
        killed = true;
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    const code = await exit;
    checkpoints += output.match(/^checkpoint \d+$/gm)?.length ?? 0;
    if (output.includes('done finished')) {
      // The job finished; a kill that landed during exit changes nothing.
      return { kills, runs, checkpoints };
    }
    if (!killed) throw new Error(`crash job exited (code ${String(code)}) without being killed or finishing:\n${output}`);
    kills++;
  }
}

/** Every input once in the committed output, with the reference's running total; no checkpoint temp files left. */
function expectExactlyOnce(dir: string, expected: Map<number, Enriched>): Enriched[] {
  const output = readOutput(dir);
  expect(output).toHaveLength(EVENTS);
  const byId = new Map(output.map((r) => [r.id, r]));
  expect(byId.size).toBe(EVENTS);
  for (const [id, want] of expected) expect(byId.get(id)).toEqual(want);
  // Writes cut short by a kill left temp files; each restart removed the ones of dead writers.
  expect(readdirSync(join(dir, 'checkpoints')).filter((name) => name.includes('.tmp-'))).toEqual([]);
  return output;
}

describe.each(['single-thread', 'slots'] as const)('crash recovery (SIGKILL, restart from the latest checkpoint), exactly-once, runtime %s', (runtime) => {
  it('exactly-once sink: every input exactly once, running totals equal the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-eo-'));
    const expected = reference(writeEvents(dir, EVENTS));
    const { kills, runs } = await runWithKills(dir, 'exactly-once', runtime, 11);
    const output = expectExactlyOnce(dir, expected);
    console.log(`${runtime}, exactly-once: ${kills} kills over ${runs} runs, ${output.length} output records`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
  });
});

// Single-thread only: the part files' life (cut back and published at a restore) is the same in slots.
describe('crash recovery (SIGKILL, restart from the latest checkpoint), exactly-once with rolling part files', () => {
  it('part files spanning 4 checkpoints: every input exactly once, in no more files than such parts and the restores make', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-roll-'));
    const expected = reference(writeEvents(dir, EVENTS));
    const { kills, runs, checkpoints } = await runWithKills(dir, 'exactly-once-rolling', 'single-thread', 13);
    const output = expectExactlyOnce(dir, expected);
    const files = readdirSync(join(dir, 'out')).filter((f) => !f.startsWith('.')).length;
    console.log(`exactly-once, rolling: ${kills} kills over ${runs} runs, ${checkpoints} checkpoints, ${files} part files, ${output.length} output records`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    // Each of the 2 subtasks closes a part every 4th checkpoint it took records in; a restore publishes what each had
    // open, and the end of input closes the last ones.
    expect(files).toBeLessThanOrEqual(Math.ceil(checkpoints / 2) + 2 * runs);
  });
});

// In slots only the exactly-once run: barriers aligned across threads are what it adds, and the suite stays bounded.
describe('crash recovery (SIGKILL, restart from the latest checkpoint), at-least-once', () => {
  it('at-least-once sink: nothing lost, duplicates counted and identical', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-alo-'));
    const expected = reference(writeEvents(dir, EVENTS));
    const { kills, runs } = await runWithKills(dir, 'at-least-once', 'single-thread', 12);
    const output = readOutput(dir);
    const duplicates = output.length - new Set(output.map((r) => r.id)).size;
    console.log(`at-least-once: ${kills} kills over ${runs} runs, ${output.length} output records, ${duplicates} duplicates`);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    for (const r of output) expect(r).toEqual(expected.get(r.id));
    expect(new Set(output.map((r) => r.id)).size).toBe(EVENTS);
  });
});
