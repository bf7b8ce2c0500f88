// Where S5b's CPU goes, thread by thread (Linux): `node dist/s5bThreads.js [embeddings] [runs]` after
// `pnpm --filter @tributary/bench build`. Runs S5b's two rows alternately in this process (after 4 warm-up runs each)
// and prints, per batch of 64, each thread's CPU and run-queue wait (/proc/self/task/*/schedstat), and the cores the
// machine had busy (/proc/stat): the figures of the "bound the cores set" in docs/benchmarks.md.
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { onnxInFlightScenario } from './scenarios/onnxInFlight.js';

const embeddings = Number(process.argv[2] ?? 16_384);
const runs = Number(process.argv[3] ?? 6);

interface ThreadTimes {
  readonly name: string;
  readonly cpuNs: number;
  readonly waitNs: number;
}

/** Every thread of this process: its name and the CPU and run-queue wait it had so far. */
function threads(): Map<string, ThreadTimes> {
  const times = new Map<string, ThreadTimes>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [cpuNs = 0, waitNs = 0] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      times.set(tid, { name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), cpuNs, waitNs });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return times;
}

/** The machine's busy and total CPU time so far (jiffies, all cores). */
function machine(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, v) => sum + v, 0);
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

const scenario = onnxInFlightScenario();
for (const row of scenario.contenders) await row.prepare?.(embeddings);
for (const row of scenario.contenders) for (let i = 0; i < 4; i++) await row.run(embeddings);

const perRow = scenario.contenders.map(() => ({ wallMs: 0, busy: 0, total: 0, threads: new Map<string, { cpuNs: number; waitNs: number }>() }));
for (let r = 0; r < runs; r++) {
  for (const [i, row] of scenario.contenders.entries()) {
    const acc = perRow[i] as (typeof perRow)[number];
    const before = threads();
    const m0 = machine();
    const t0 = performance.now();
    await row.run(embeddings);
    acc.wallMs += performance.now() - t0;
    const m1 = machine();
    acc.busy += m1.busy - m0.busy;
    acc.total += m1.total - m0.total;
    for (const [tid, after] of threads()) {
      const was = before.get(tid);
      if (was === undefined) continue;
      const key = `${tid} ${after.name}`;
      const sum = acc.threads.get(key) ?? { cpuNs: 0, waitNs: 0 };
      acc.threads.set(key, { cpuNs: sum.cpuNs + after.cpuNs - was.cpuNs, waitNs: sum.waitNs + after.waitNs - was.waitNs });
    }
  }
}

const batches = (runs * embeddings) / 64;
const cores = readdirSync('/sys/devices/system/cpu').filter((d) => /^cpu\d+$/.test(d)).length;
for (const [i, row] of scenario.contenders.entries()) {
  const acc = perRow[i] as (typeof perRow)[number];
  const usPerBatch = (ns: number) => (ns / batches / 1000).toFixed(0);
  const all = [...acc.threads].sort(([, a], [, b]) => b.cpuNs - a.cpuNs);
  const cpu = all.reduce((sum, [, t]) => sum + t.cpuNs, 0);
  console.log(`${row.label}: ${((acc.wallMs * 1000) / batches).toFixed(0)} µs wall a batch, ${usPerBatch(cpu)} µs CPU a batch, machine busy ${((100 * cores * acc.busy) / acc.total).toFixed(0)}% of one core`);
  for (const [key, t] of all) if (t.cpuNs / batches >= 2_000) console.log(`  thread ${key.padEnd(20)} CPU ${usPerBatch(t.cpuNs).padStart(5)} µs a batch, run-queue wait ${usPerBatch(t.waitNs).padStart(5)}`);
}
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' / ')}`);
for (const row of scenario.contenders) await row.teardown?.();
