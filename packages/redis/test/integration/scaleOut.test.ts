/**
 * Scale-out: three worker processes in one consumer group share one input
 * stream; one is killed with SIGKILL mid-run. The survivors claim what it
 * left pending, it is restarted from its checkpoint, and every input reaches
 * the output at least once, with duplicates bounded by what the killed worker
 * had in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntries, adminClient, eventually, pendingByConsumer, pendingCount, readAll, redisUrl, uniqueKey } from '../support/redis.js';
import { WORKER_CONFIG } from './scale/config.js';

const ENTRIES = 100_000;
const WORKERS = ['w1', 'w2', 'w3'] as const;
const VICTIM = 'w2';

interface Worker {
  readonly label: string;
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

let admin: Redis;
const running: Worker[] = [];
beforeAll(() => {
  admin = adminClient();
});
afterAll(async () => {
  for (const w of running) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(running.map((w) => w.exited));
  admin.disconnect();
});

function startWorker(args: { input: string; output: string; consumer: string; dir: string; label: string }): Worker {
  const script = join(import.meta.dirname, 'scale', 'worker.ts');
  const child = spawn(
    process.execPath,
    ['--conditions=@tributary/source', '--import', 'tsx', script, redisUrl(), args.input, args.output, args.consumer, args.dir, args.label],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const worker: Worker = {
    label: args.label,
    child,
    output: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (data: Buffer) => (worker.output += data.toString()));
  running.push(worker);
  return worker;
}

const checkpoints = (w: Worker) => (w.output.match(/^checkpoint \d+$/gm) ?? []).length;

describe('scale-out across processes', () => {
  it('three workers share 100,000 entries; a SIGKILLed worker loses nothing and duplicates stay within its in-flight bound', async () => {
    const input = uniqueKey('scale-in');
    const output = uniqueKey('scale-out');
    const dirs = new Map(WORKERS.map((name) => [name, mkdtempSync(join(tmpdir(), `redis-${name}-`))]));
    // The group exists before any worker reads, so none of them misses early entries.
    await admin.call('XGROUP', 'CREATE', input, WORKER_CONFIG.group, '0', 'MKSTREAM');

    const workers = new Map(WORKERS.map((name) => [name, startWorker({ input, output, consumer: name, dir: dirs.get(name)!, label: name })]));
    await eventually(() => [...workers.values()].every((w) => w.output.includes('started')), 'all workers started', 60_000);

    const started = performance.now();
    // Fed while the workers run, as a producer would.
    const feeding = addEntries(admin, input, Array.from({ length: ENTRIES }, (_, n) => ({ n: String(n) })));

    // Mid-run: the victim has stored checkpoints (so it acked some work) and a good part of the input is done.
    const victim = workers.get(VICTIM)!;
    await eventually(async () => checkpoints(victim) >= 3 && (await admin.xlen(output)) >= ENTRIES * 0.3, 'a third of the input processed', 60_000);
    // Kill it while it holds unacked entries (otherwise there is nothing to claim): freeze it, look, then kill or let it go on.
    for (;;) {
      victim.child.kill('SIGSTOP');
      await admin.ping();
      if (((await pendingByConsumer(admin, input, WORKER_CONFIG.group)).get(VICTIM) ?? 0) > 0) break;
      victim.child.kill('SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    victim.child.kill('SIGKILL');
    await victim.exited;
    const outputAtKill = await admin.xlen(output);
    const pendingAtKill = (await pendingByConsumer(admin, input, WORKER_CONFIG.group)).get(VICTIM) ?? 0;
    const ids = await feeding;

    // Nobody reads as the victim now: after minIdleMs its entries are claimed by the survivors.
    await eventually(
      async () => ((await pendingByConsumer(admin, input, WORKER_CONFIG.group)).get(VICTIM) ?? 0) === 0,
      "the victim's pending entries claimed",
      60_000,
    );
    // The victim comes back from its checkpoint: it finishes the records that checkpoint holds in operator state (acked with it).
    const restarted = startWorker({ input, output, consumer: VICTIM, dir: dirs.get(VICTIM)!, label: `${VICTIM} (restarted)` });

    let written: Awaited<ReturnType<typeof readAll>> = [];
    await eventually(
      async () => {
        if ((await admin.xlen(output)) < ENTRIES || (await pendingCount(admin, input, WORKER_CONFIG.group)) > 0) return false;
        written = await readAll(admin, output);
        return new Set(written.map((e) => e.fields?.['idempotency-key'])).size === ENTRIES;
      },
      'every input in the output and acked',
      90_000,
    );
    const elapsedMs = performance.now() - started;
    for (const w of [...workers.values(), restarted]) if (w !== victim) w.child.kill('SIGTERM');
    await Promise.all([...workers.values(), restarted].map((w) => w.exited));

    const restored = Number(/restoring (\d+) in-flight records/.exec(restarted.output)?.[1]);
    const keys = new Set(written.map((e) => e.fields?.['idempotency-key']));
    expect(keys).toEqual(new Set(ids));
    const duplicates = written.length - keys.size;
    // What the victim could see processed twice:
    // - the entries it held unacked in Redis when it died (read after its last completed checkpoint): the survivors
    //   claim and process them again. The reader never holds more than maxUnacked (reads are sized to the room left).
    // - the records its last completed checkpoint holds in the async operator's state: their entries were acked with
    //   the checkpoint; the restarted victim re-dispatches them, and some were already written after that checkpoint.
    //   The operator holds at most `capacity` records.
    // Survivors add none: their entries are acked every checkpointMs, far below minIdleMs, so nobody claims them.
    const bound = WORKER_CONFIG.maxUnacked + WORKER_CONFIG.capacity;
    const split = new Map<string, { records: number; claimed: number }>();
    for (const e of written) {
      const s = split.get(e.fields?.worker ?? '?') ?? { records: 0, claimed: 0 };
      s.records++;
      if (e.fields?.delivery === 'claimed') s.claimed++;
      split.set(e.fields?.worker ?? '?', s);
    }
    console.log(
      [
        `scale-out: ${ENTRIES} entries, ${WORKERS.length} workers, ${VICTIM} killed (SIGKILL) after ${outputAtKill} outputs, ` +
          `in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(ENTRIES / (elapsedMs / 1000))} entries/s incl. the ${WORKER_CONFIG.minIdleMs} ms claim wait)`,
        `  ${VICTIM} left ${pendingAtKill} entries pending at the kill and ${restored} records in its checkpoint's async state; ` +
          `${written.length} outputs, ${duplicates} duplicates (bound ${bound} = maxUnacked ${WORKER_CONFIG.maxUnacked} + capacity ${WORKER_CONFIG.capacity})`,
        ...[...split].sort(([a], [b]) => a.localeCompare(b)).map(([worker, s]) => `  ${worker.padEnd(14)} ${String(s.records).padStart(6)} records (${s.claimed} claimed from ${VICTIM})`),
      ].join('\n'),
    );
    expect(pendingAtKill).toBeGreaterThan(0);
    expect(pendingAtKill).toBeLessThanOrEqual(WORKER_CONFIG.maxUnacked);
    const claimedBySurvivors = [...split].filter(([w]) => !w.startsWith(VICTIM)).reduce((sum, [, s]) => sum + s.claimed, 0);
    expect(claimedBySurvivors).toBeGreaterThanOrEqual(pendingAtKill);
    expect(restored).toBeLessThanOrEqual(WORKER_CONFIG.capacity);
    expect(duplicates).toBeLessThanOrEqual(pendingAtKill + restored);
    expect(duplicates).toBeLessThanOrEqual(bound);
    for (const name of WORKERS) expect(split.get(name)?.records ?? 0).toBeGreaterThan(0);
  });
});
