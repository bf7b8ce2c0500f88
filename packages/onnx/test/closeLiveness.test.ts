import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { useTempModel } from './support/tempModel.js';

const model = useTempModel();

/** Registers tsx in worker threads (the session workers load onnx's TypeScript sources), as in every test process. */
const TSX_WORKERS = fileURLToPath(new URL('../../../tsx-workers.mjs', import.meta.url));

/** Longest a child may run: one that has not ended by then is killed, and the test fails showing how far it got. */
const CHILD_LIMIT_MS = 45_000;

/** What a child process did: its exit code (null when killed), its output, and the steps it marked (see runChild). */
interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  steps: string[];
}

/**
 * Runs `script` (an ES module importing `ONNX`) in a child Node.js process with the sources loaded through tsx;
 * resolves with its exit code and output. From a file, not `-e`: workers inherit the process's flags, and
 * `--input-type` fails every worker started from a file. The script may call `mark(step)` to record a step in a
 * file beside it, and `markAfterExitListeners()` last, so that a child that hangs shows whether it hung in its
 * work, in an `exit` listener, or while Node tore its threads down after them.
 */
async function runChild(script: string): Promise<ChildRun> {
  const onnx = JSON.stringify(new URL('../src/index.ts', import.meta.url).href);
  const file = join(dirname(model().path), 'closeLiveness.mjs');
  const steps = `${file}.steps`;
  await writeFile(steps, '');
  const prelude = [
    `import { appendFileSync } from 'node:fs';`,
    `const ONNX = ${onnx};`,
    `const mark = (step) => appendFileSync(${JSON.stringify(steps)}, step + '\\n');`,
    // Registered after every listener the script's work added, so it runs after them.
    `const markAfterExitListeners = () => process.on('exit', () => mark('exit listeners ran'));`,
  ].join('\n');
  await writeFile(file, `${prelude}\n${script}`);
  const child = spawn(process.execPath, ['--import', 'tsx', `--import=${TSX_WORKERS}`, '--conditions=@tributary/source', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(limit);
  return { code, stdout, stderr, steps: (await readFile(steps, 'utf8')).split('\n').filter((step) => step !== '') };
}

it('close() keeps the process alive until a worker that was still starting has ended (no unsettled await)', async () => {
  // Two calls at once start a second worker; close() comes before it is ready. Its `ready` used to unref the
  // thread close() waits on, so nothing held the process and Node exited with code 13 before 'closed'.
  const child = await runChild(`
    const { onnxTextEmbedder } = await import(ONNX);
    const embedder = onnxTextEmbedder({ model: ${JSON.stringify(model().path)}, sessionOptions: { intraOpNumThreads: 1 } }).create();
    await embedder.open();
    await Promise.all([embedder.invoke(['one']), embedder.invoke(['two'])]);
    mark('embedded');
    await embedder.close();
    console.log('closed');
    markAfterExitListeners();
  `);
  expect(child).toEqual({ code: 0, stdout: 'closed\n', stderr: '', steps: ['embedded', 'exit listeners ran'] });
});

it.each([
  ['when its work is done', ''],
  ['by process.exit()', 'process.exit(0);'],
])('a process that leaves session workers idle for a next job ends %s, with code 0 and no abort', async (_, ending) => {
  // The idle workers hold live sessions in unref'd threads: they neither keep the process alive nor abort it at exit.
  const child = await runChild(`
    const { onnxTextEmbedder } = await import(ONNX);
    let started = 0;
    process.on('worker', () => started++);
    const embed = async () => {
      const embedder = onnxTextEmbedder({ model: ${JSON.stringify(model().path)}, sessionOptions: { intraOpNumThreads: 1 }, maxWorkers: 1 }).create();
      await embedder.invoke(['one']);
      await embedder.close();
      mark('embedded and closed');
    };
    await embed();
    await embed();
    console.log('workers started: ' + started);
    markAfterExitListeners();
    ${ending}
  `);
  const steps = ['embedded and closed', 'embedded and closed', 'exit listeners ran'];
  expect(child).toEqual({ code: 0, stdout: 'workers started: 1\n', stderr: '', steps });
});

it.each([
  ['when its work is done', ''],
  ['by process.exit()', 'process.exit(0);'],
])('a process whose jobs ran in slots, each slot thread leaving its session worker idle, ends %s, with code 0 and no abort', async (_, ending) => {
  const job = JSON.stringify(new URL('./fixtures/embedInSlots.job.ts', import.meta.url).href);
  const child = await runChild(`
    const { embedInSlots } = await import(${job});
    const args = { modelPath: ${JSON.stringify(model().path)}, texts: 64, batch: 8, channel: 'unused-' + process.pid, closeTimeoutMs: 30000 };
    for (let run = 0; run < 2; run++) console.log((await embedInSlots.executeAsync(args).result).status);
    markAfterExitListeners();
    ${ending}
  `);
  expect(child).toEqual({ code: 0, stdout: 'finished\nfinished\n', stderr: '', steps: ['exit listeners ran'] });
});
