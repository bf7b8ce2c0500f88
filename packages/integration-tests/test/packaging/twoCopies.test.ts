import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { publishedPackages, tarballName, unpack } from './workspace.js';

/**
 * A job that builds its graph with the application's copy of core and runs it
 * through async, which loads its own copy (what a package manager installs
 * when the application's core does not satisfy the adapter's range).
 */
const JOB = `
import { InvalidJobError, OutputTag, StreamExecutionEnvironment } from '@tributary/core';
import { AsyncDataStream, NonRetryableError } from '@tributary/async';

const asyncCore = await import('./node_modules/@tributary/async/node_modules/@tributary/core/dist/index.js');
const env = StreamExecutionEnvironment.create({ parallelism: 1 });
const dead = new OutputTag('dead');
const squares = AsyncDataStream.waitBatch(
  env.fromElements(1, 2, 3, 4, 5, 6).keyBy((n) => n % 2),
  async (batch) => batch.map((n) => (n === 5 ? new NonRetryableError('five') : n * n)),
  { maxBatchSize: 2, maxBatchDelay: 1, ordering: 'key-ordered', resultMode: 'per-item', onFailure: { deadLetter: dead } },
);
const out = [];
const letters = [];
squares.addSink((n) => { out.push(n); });
squares.getSideOutput(dead).addSink((letter) => { letters.push(letter.input); });

let badOption;
try {
  AsyncDataStream.unorderedWaitBatch(env.fromElements(1), async (b) => b, { maxBatchSize: 0 });
} catch (error) {
  badOption = { caught: error instanceof InvalidJobError, ownCopy: error instanceof asyncCore.InvalidJobError, message: error.message };
}
const result = await env.execute('two copies');
console.log(JSON.stringify({
  twoCopies: asyncCore.OutputTag !== OutputTag,
  status: result.status,
  out: out.sort((a, b) => a - b),
  letters,
  badOption,
}));
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tributary-two-cores-'));
  const version = (name: string) => publishedPackages().find((p) => p.manifest.name === name)!.manifest.version!;
  const tarball = (name: string) => join(inject('tarballDir'), tarballName(name, version(name)));
  unpack(tarball('@tributary/core'), join(dir, 'node_modules/@tributary/core'));
  unpack(tarball('@tributary/async'), join(dir, 'node_modules/@tributary/async'));
  // The second copy claims a later patch release, as after `npm install @tributary/core@latest` in the adapter's tree.
  const second = join(dir, 'node_modules/@tributary/async/node_modules/@tributary/core');
  unpack(tarball('@tributary/core'), second);
  const manifest = JSON.parse(readFileSync(join(second, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(second, 'package.json'), JSON.stringify({ ...manifest, version: manifest.version.replace(/\d+$/, (p) => String(Number(p) + 1)) }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(dir, 'job.js'), JOB);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('two copies of @tributary/core side by side', () => {
  it('run a keyed, dead-lettering async job built with one copy through async bound to the other', () => {
    const report = JSON.parse(execFileSync(process.execPath, ['job.js'], { cwd: dir, encoding: 'utf8' })) as Record<string, unknown>;
    expect(report).toEqual({
      twoCopies: true,
      status: 'finished',
      out: [1, 4, 9, 16, 36],
      letters: [5],
      badOption: {
        caught: true,
        ownCopy: true,
        message: expect.stringContaining("option 'maxBatchSize'"),
      },
    });
  });
});
