// Measures what the job view costs the main job: the CPU time (process.cpuUsage(), user + system) of
// `embed-documents --docs N --quiet` until its report, without the view; with `--ui` and one page open in headless
// Chromium (which shares the machine's cores with the job); and with `--ui` and only the page's event stream read
// (the view's own work, without a browser competing for the cores). Alternating, RUNS times each.
// Usage: node packages/web/scripts/measureViewCost.js [docs=5000] [runs=5], after `npx -y pnpm@10 start` built the job
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const docs = process.argv[2] ?? '5000';
const runs = Number(process.argv[3] ?? 5);
const example = fileURLToPath(new URL('../../../examples/embed-documents/', import.meta.url));
const preload = join(tmpdir(), 'tributary-cpu-usage.mjs');
// The job process reports its own CPU time when it writes its report: the job is over then, and what follows
// (--ui waiting for Ctrl-C while the model runtime's threads wind down) is not the job's.
writeFileSync(
  preload,
  `const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  if (String(chunk).includes('throughput')) { const u = process.cpuUsage(); process.stderr.write('cpu-ms ' + (u.user + u.system) / 1000 + '\\n'); }
  return write(chunk, ...rest);
};
`,
);
const browser = await chromium.launch({ executablePath: process.env.TRIBUTARY_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });

/** Opens what `mode` watches the job with; resolves with a function that closes it. */
async function watch(mode, url) {
  if (mode === 'page') {
    const page = await browser.newPage();
    await page.goto(url);
    return () => page.close();
  }
  const stream = new AbortController();
  const response = await fetch(new URL('api/events', url), { signal: stream.signal });
  void response.body.pipeTo(new WritableStream()).catch(() => undefined);
  return () => stream.abort();
}

async function run(mode) {
  // The built job (run `npx -y pnpm@10 start` once first), as a user runs it: in task slots, whose CPU process.cpuUsage() counts.
  const args = ['--import', preload, 'dist/main.js', '--docs', docs, '--quiet', ...(mode === 'without' ? [] : ['--ui'])];
  const child = spawn(process.execPath, args, { cwd: example, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let watching;
  child.stdout.on('data', (b) => {
    out += b;
    const url = /Job view: (\S+)/.exec(out)?.[1];
    if (url !== undefined && watching === undefined) watching = watch(mode, url);
    // The job is done: Ctrl-C ends --ui's serving.
    if (out.includes('press Ctrl-C')) child.kill('SIGINT');
  });
  child.stderr.on('data', (b) => (err += b));
  const code = await new Promise((resolve) => child.on('close', (exit, signal) => resolve(exit ?? signal)));
  await (await watching)?.();
  const cpu = Number(/cpu-ms ([\d.]+)/.exec(err)?.[1]);
  if ((code !== 0 && code !== 'SIGINT') || Number.isNaN(cpu)) throw new Error(`the job exited ${code}: ${err}`);
  return cpu;
}

const modes = { without: 'without the view', stream: 'with its event stream read', page: 'with one open page' };
const results = { without: [], stream: [], page: [] };
for (let i = 0; i < runs; i++) {
  for (const mode of Object.keys(modes)) results[mode].push(await run(mode));
  console.log(`run ${i + 1}: ${Object.entries(modes).map(([mode, label]) => `${label} ${results[mode][i].toFixed(0)} ms`).join(', ')}`);
}
await browser.close();
// Medians: one run disturbed by the other work on a shared machine moves a mean, not a median.
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results.without);
for (const [mode, label] of Object.entries(modes)) {
  const xs = results[mode];
  const change = mode === 'without' ? '' : `, ${(((median(xs) - base) / base) * 100).toFixed(1)}% over without`;
  console.log(`${label}: median ${median(xs).toFixed(0)} ms CPU (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})${change}`);
}
