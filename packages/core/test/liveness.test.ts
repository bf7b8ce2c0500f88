import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Runs a job in a child process (the built package; turbo builds it before
 * these tests) whose sink's flush never settles and holds no handle: before
 * the job kept the process alive, Node exited with code 0 and the result was
 * never reported.
 */
function startJob(flush: string) {
  const script = `
    import { StreamExecutionEnvironment } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const env = StreamExecutionEnvironment.create({ stallWarningMs: 50 });
    env.fromElements(1, 2, 3)
      .sinkTo({ createWriter: () => ({ write: () => undefined, flush: ${flush} }) })
      .name('batcher');
    env.execute('never settles').then((result) => console.log('result', result.status));`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('liveness', () => {
  // A child process starts slowly on a busy machine: the test's own bound (20 s) fails it, not vitest's 5 s.
  it('keeps the process alive while a job waits on a promise that holds no handle, and warns naming the wait', { timeout: 30_000 }, async () => {
    const child = startJob('() => new Promise(() => undefined)');
    let stderr = '';
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) =>
      child.on('exit', (code) => {
        exitCode = code;
        resolve();
      }),
    );
    const warned = new Promise<void>((resolve) =>
      child.stderr.on('data', (data: Buffer) => {
        stderr += data.toString();
        if (stderr.includes('job.stalled')) resolve();
      }),
    );
    // Whichever comes first: the warning (the fix) or the exit (the bug). Bounded, so a hang fails too.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([warned, exited, new Promise<void>((resolve) => (giveUp = setTimeout(resolve, 20_000)))]);
    clearTimeout(giveUp);
    const aliveWhenWarned = exitCode === undefined;
    child.kill('SIGKILL');
    await exited;
    expect(aliveWhenWarned).toBe(true);
    // As long as the stall had lasted at the check that saw it: 50 ms or a little more.
    const stalled = /\[tributary\] warn job\.stalled: Job 'never settles' moved no record for (\d+) ms and waits on pending work: task 'Source: Elements -> batcher \(1\/1\)' on endInput\(\) of 'batcher'/.exec(stderr);
    expect(Number(stalled?.[1])).toBeGreaterThanOrEqual(50);
  });

  it('lets the process exit once the job has ended', { timeout: 30_000 }, async () => {
    const child = startJob('() => undefined');
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    let giveUp: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      new Promise<string>((resolve) => (giveUp = setTimeout(() => resolve('still running after 20 s'), 20_000))),
    ]);
    clearTimeout(giveUp);
    child.kill('SIGKILL');
    expect(code).toBe(0);
    expect(stdout).toBe('result finished\n');
  });
});
