import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs one of the example's commands from its source, as the integration test starts workers. */
function run(command: 'worker' | 'feed' | 'watch', ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const script = join(import.meta.dirname, '..', 'src', `${command}.ts`);
  const { status, stdout, stderr } = spawnSync(process.execPath, ['--conditions=@tributary/source', '--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status, stdout, stderr };
}

describe('the commands, before they reach Redis', () => {
  it.each(['worker', 'feed', 'watch'] as const)('%s.js --help prints its usage and the common flags, and exits 0', (command) => {
    const { status, stdout } = run(command, '--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(new RegExp(`^usage: ${command}\\.js `));
    expect(stdout).toContain('--redis <url>');
  });

  it.each([
    [['worker', '--bogus'], "worker.js: Unknown option '--bogus' (see --help)\n"],
    [['worker'], 'worker.js: the worker needs a name (see --help)\n'],
    [['worker', 'w1', '--parallelism', 'two'], "worker.js: --parallelism must be a whole number from 1 to 128, got 'two' (see --help)\n"],
    [['worker', 'w1', '--parallelism', '200'], "worker.js: --parallelism must be a whole number from 1 to 128, got '200' (see --help)\n"],
    [['worker', 'w1', '--group', ''], 'worker.js: --group needs a name (see --help)\n'],
    [['worker', 'w1', '--output', ' '], 'worker.js: --output needs a name (see --help)\n'],
    [['worker', 'w1', '--checkpoints', ''], 'worker.js: --checkpoints needs a directory (see --help)\n'],
    [['feed', '5', '--input', ''], 'feed.js: --input needs a name (see --help)\n'],
    [['feed', '5', '--redis', 'notaurl'], "feed.js: --redis must be a redis:// or rediss:// URL, got 'notaurl' (see --help)\n"],
    [['watch', '--redis', 'http://127.0.0.1:6379'], "watch.js: --redis must be a redis:// or rediss:// URL, got 'http://127.0.0.1:6379' (see --help)\n"],
    [['watch', '--every', '3000000000'], "watch.js: --every must be a whole number of milliseconds from 1 to 3600000, got '3000000000' (see --help)\n"],
    [['feed', '--from=-1'], "feed.js: --from must be a whole number >= 0, got '-1' (see --help)\n"],
    [['feed', '--from'], "feed.js: Option '--from <value>' argument missing (see --help)\n"],
    [['watch', '--every', '0'], "watch.js: --every must be a whole number of milliseconds from 1 to 3600000, got '0' (see --help)\n"],
  ] as const)('%j fails in one line naming what is wrong, with exit code 2', ([command, ...args], message) => {
    const { status, stderr } = run(command, ...args);
    expect([status, stderr]).toEqual([2, message]);
  });
});
