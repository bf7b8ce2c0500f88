import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedPackages } from './workspace.js';

/** A CommonJS program, as `npm init -y` starts one, that requires each package named on its command line. */
const PROGRAM = `
for (const name of process.argv.slice(2)) {
  const exports = require(name);
  console.log(name + ' ' + Object.values(exports).filter((value) => typeof value === 'function').length);
}
`;

const names = publishedPackages().map((p) => p.manifest.name);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tributary-require-'));
  writeFileSync(join(dir, 'main.cjs'), PROGRAM);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the program with this package's dependencies on the require path (their built `dist/`). */
function run(nodeOptions: string[]) {
  return spawnSync(process.execPath, [...nodeOptions, join(dir, 'main.cjs'), ...names], {
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: join(import.meta.dirname, '../../node_modules') },
  });
}

describe('require() from CommonJS', () => {
  it('loads every published package on Node >= 20.19 (require of ES modules)', () => {
    const { status, stdout, stderr } = run([]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const loaded = stdout.trim().split('\n').map((line) => line.split(' '));
    expect(loaded.map(([name]) => name)).toEqual(names);
    for (const [, functions] of loaded) expect(Number(functions)).toBeGreaterThan(0);
  });

  it('where require of ES modules is off, fails with a message that says to use import()', () => {
    const { status, stderr } = run(['--no-experimental-require-module']);
    expect(status).not.toBe(0);
    expect(stderr).toContain('ERR_REQUIRE_ESM');
    expect(stderr).toMatch(/change the require of .* to a dynamic import\(\)/);
  });
});
