// Measures what one open page of the job view costs the main job: the CPU time (process.cpuUsage(), user + system)
// of `embed-documents --docs N --quiet` without the view, and with `--ui` and one page open in headless Chromium,
// alternating, RUNS times each. Usage: node packages/web/scripts/measureViewCost.js [docs=5000] [runs=3]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const docs = process.argv[2] ?? '5000';
const runs = Number(process.argv[3] ?? 3);
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

async function run(withPage) {
  const args = ['--conditions=@tributary/source', '--import', 'tsx', '--import', preload, 'src/main.ts', '--docs', docs, '--quiet', ...(withPage ? ['--ui'] : [])];
  const child = spawn(process.execPath, args, { cwd: example, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let page;
  child.stdout.on('data', (b) => {
    out += b;
    const url = /Job view: (\S+)/.exec(out)?.[1];
    if (url !== undefined && page === undefined) page = browser.newPage().then(async (p) => (await p.goto(url), p));
    // The job is done: Ctrl-C ends --ui's serving.
    if (out.includes('press Ctrl-C')) child.kill('SIGINT');
  });
  child.stderr.on('data', (b) => (err += b));
  const code = await new Promise((resolve) => child.on('close', resolve));
  await (await page)?.close();
  const cpu = Number(/cpu-ms ([\d.]+)/.exec(err)?.[1]);
  if (code !== 0 || Number.isNaN(cpu)) throw new Error(`the job exited ${code}: ${err}`);
  return cpu;
}

const results = { without: [], withPage: [] };
for (let i = 0; i < runs; i++) {
  results.without.push(await run(false));
  results.withPage.push(await run(true));
  console.log(`run ${i + 1}: without the view ${results.without[i].toFixed(0)} ms CPU, with one open page ${results.withPage[i].toFixed(0)} ms CPU`);
}
await browser.close();
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const describe = (xs) => `mean ${mean(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
console.log(`without the view: ${describe(results.without)}`);
console.log(`with one open page: ${describe(results.withPage)}`);
console.log(`difference of the means: ${(((mean(results.withPage) - mean(results.without)) / mean(results.without)) * 100).toFixed(1)}%`);
