import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { publishedPackages, tarballName } from './workspace.js';

/**
 * A user's test file for the kit's vitest entry: each assertion passes on what
 * happened and fails, through the runner's own `expect`, on what did not.
 */
const KIT_TEST = `
import { describe, expect, it } from 'vitest';
import { FakeBatchService, ManualClock, OneInputOperatorHarness, feedMarbles } from '@tributary/testing';
import { expectBatches, expectBatchSizes, expectNoEmptyBatches, expectOutputMarbles } from '@tributary/testing/vitest';

describe('@tributary/testing/vitest', () => {
  it('checks the batches a fake service received', async () => {
    const clock = new ManualClock(0);
    const service = new FakeBatchService({ clock, handler: (xs) => xs.map((x) => x * 2), latency: { baseMs: 5, perItemMs: 1 } });
    const answers = [service.call([1, 2, 3]), service.call([4])];
    await clock.advance(8);
    expect(await Promise.all(answers)).toEqual([[2, 4, 6], [8]]);
    expectBatches(service, [[1, 2, 3], [4]]);
    expectBatchSizes(service, [3, 1]);
    expectNoEmptyBatches(service);
    expect(() => expectBatchSizes(service, [2, 2])).toThrow(/batch sizes; call log/);
  });

  it('draws a harness output as marbles', async () => {
    const harness = OneInputOperatorHarness.forProcessFunction({ processElement: (n, _ctx, out) => out.collect(n * 10) });
    await harness.open();
    await feedMarbles(harness, 'a-b|', { frameMs: 10, values: { a: 1, b: 2 } });
    expectOutputMarbles(harness, 'x-x', { frameMs: 10, symbol: () => 'x' });
    expect(() => expectOutputMarbles(harness, 'xx', { frameMs: 10, symbol: () => 'x' })).toThrow(/output timeline/);
  });
});
`;

/** The vitest majors the testing kit's peer range names, each installed from the registry as a user's project would. */
const peerRange = (JSON.parse(readFileSync(join(import.meta.dirname, '../../../testing/package.json'), 'utf8')) as { peerDependencies: Record<string, string> })
  .peerDependencies.vitest!;
const majors = [...peerRange.matchAll(/\^(\d+)\.0\.0/g)].map((m) => m[1]!);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A project holding the packed core and testing kit and `vitest@^major`, installed by npm as a user's shell runs it. */
function projectWith(major: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tributary-vitest${major}-`));
  dirs.push(dir);
  const tarball = (name: string) => {
    const { version } = publishedPackages().find((p) => p.manifest.name === name)!.manifest;
    return `file:${join(inject('tarballDir'), tarballName(name, version!))}`;
  };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      type: 'module',
      devDependencies: { '@tributary/core': tarball('@tributary/core'), '@tributary/testing': tarball('@tributary/testing'), vitest: `^${major}.0.0` },
    }),
  );
  writeFileSync(join(dir, 'kit.test.js'), KIT_TEST);
  // Without the npm_config_* a pnpm run passes down (npm would take pnpm's user agent and settings for its own).
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_config_')));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--strict-peer-deps'], { cwd: dir, env, stdio: 'pipe' });
  return dir;
}

describe('the testing kit under every vitest its peer range names', () => {
  it('names at least the workspace vitest (4) and its neighbours', () => {
    expect(majors).toEqual(expect.arrayContaining(['3', '4', '5']));
  });

  it.each(majors)('runs a user test of its vitest entry under vitest %s', (major) => {
    const dir = projectWith(major);
    const installed = (JSON.parse(readFileSync(join(dir, 'node_modules/vitest/package.json'), 'utf8')) as { version: string }).version;
    expect(installed.split('.')[0]).toBe(major);
    const run = spawnSync(process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', '--outputFile=report.json'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults: { assertionResults: { failureMessages: string[] }[] }[];
    };
    const failures = report.testResults.flatMap((file) => file.assertionResults.flatMap((test) => test.failureMessages));
    expect({ status: run.status, passed: report.numPassedTests, failures }, run.stderr).toEqual({ status: 0, passed: 2, failures: [] });
  });
});
