// Where the CPU of a job in slots goes, per thread (docs/internals.md, "Slots: where S7's CPU goes").
// Run after building the bench (`npx -y pnpm@10 --filter @tributary/bench build`):
//   node packages/bench/bench-scripts/slotsProfile.mjs [S7|S4-edge] [records] [runs] [slots|single-thread]
// It runs the scenario's job `runs` times in one process under `--cpu-prof` (every thread writes its own
// profile) and prints, per thread, the share of its busy samples in each group of functions. The profiler
// samples wall time: on a loaded machine a thread's preempted time counts for the function it was in, so
// read the shares, not the milliseconds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [scenario = 'S7', records = '500000', runs = '4', runtime = 'slots'] = process.argv.slice(2);

/** Functions by what they do; the first group whose pattern matches `function url:line` takes a sample. */
const GROUPS = [
  ['the work (scoreLine and its JSON/split/regexp builtins, keyed state)', /scoreLine|^\(anon\) :1$|RegExp|HeapKeyedStateBackend|^parse :0|^map scenarios|keyedSumWorkload/],
  ['garbage collector', /garbage collector/],
  ['between slots (columns, postMessage, credits)', /RemoteSubpartition|postMessage|columnChunks|PeerLink|RemoteQueue|messageport|SlotResultPartition|event_target/],
  ['hash partitioning (keyBy)', /RecordWriter|keyGroups|extractKey/],
  ['task loop, channels, turns, the source', /Task\.js|InputChannel|FusedInput|ChainOutputs|Operator\.js|raceAbort|eventLoop|timers|task_queues|runMicrotasks|ImmediateRef|keyedTokenScore\.js|CollectionSource/],
  ['start-up (module load, compile)', /loader|esm\/|bootstrap|openFileHandle|fstat|readFileUtf8|realpath|package_json|cjs-module|node:path|internalModuleStat|source_map/],
];

if (process.env.SLOTS_PROFILE_CHILD === '1') {
  const { checksumOfMetrics } = await import('../dist/harness/MetricChecksumSink.js');
  const { keyedTokenScoreJob, buildKeyedTokenScoreJob } = await import('../dist/scenarios/keyedTokenScore.js');
  const { keyedSumJob, buildKeyedSumJob } = await import('../dist/scenarios/edgeCost.js');
  const [job, build] = scenario === 'S7' ? [keyedTokenScoreJob, buildKeyedTokenScoreJob] : [keyedSumJob, buildKeyedSumJob];
  const args = { records: Number(records), parallelism: runtime === 'slots' ? 2 : 1 };
  for (let run = 0; run < Number(runs); run++) {
    const cpu = process.cpuUsage();
    let count;
    if (runtime === 'slots') count = checksumOfMetrics(await job.execute({ ...args, runtime }, { jobName: scenario })).count;
    else {
      count = 0;
      const stream = build(args);
      stream.addSink(() => count++);
      await stream.env.execute(scenario);
    }
    const used = process.cpuUsage(cpu);
    console.log(`run ${run + 1}: ${count} records, ${((used.user + used.system) / 1000).toFixed(0)} ms CPU (all threads)`);
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), 'slots-profile-'));
  const child = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, new URL(import.meta.url).pathname, scenario, records, runs, runtime], {
    env: { ...process.env, SLOTS_PROFILE_CHILD: '1' },
    stdio: 'inherit',
  });
  if (child.status !== 0) process.exit(child.status ?? 1);
  summarize(dir);
}

function summarize(dir) {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    const shares = new Map();
    let busy = 0;
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id);
      const key = `${frame.functionName || '(anon)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
      if (key.startsWith('(idle)')) return;
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      busy += ms;
      const group = GROUPS.find(([, pattern]) => pattern.test(key))?.[0] ?? 'other';
      shares.set(group, (shares.get(group) ?? 0) + ms);
    });
    const rows = [...shares].sort((a, b) => b[1] - a[1]).map(([group, ms]) => `  ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${group}`);
    console.log(`thread ${file.split('.')[4]} (${file}): ${busy.toFixed(0)} ms busy\n${rows.join('\n')}`);
  }
}
