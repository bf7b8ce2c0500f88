import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sampleInChild } from '../src/harness/isolation.js';
import { parseOptions } from '../src/options.js';
import { expectedS3 } from './support/expected.js';

// The child runs the built JavaScript (turbo builds this package before its tests).
const child = fileURLToPath(new URL('../dist/harness/sampleChild.js', import.meta.url));

describe('a process per sample', () => {
  it('was built before the tests', () => {
    expect(existsSync(child)).toBe(true);
  });

  it('measures the runs it is asked for in a fresh process, each with its checksum and CPU time', async () => {
    const runs = await sampleInChild({ scenario: 'S3', contender: 'tributary', records: 3_000, warmupRuns: 1, measuredRuns: 3 }, child);
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect({ count: run.value.count, sum: run.value.sum }).toEqual(expectedS3(3_000));
      expect(run.cpuNs).toBeGreaterThan(0);
      expect(run.wallNs).toBeGreaterThan(0);
    }
  });

  it('fails naming the scenario and contender it cannot find', async () => {
    await expect(sampleInChild({ scenario: 'S3', contender: 'nope', records: 10, warmupRuns: 1, measuredRuns: 1 }, child)).rejects.toThrow(
      'S3 nope: scenario S3 has no contender nope',
    );
  });

  it('is what the CLI does unless told --in-process', () => {
    expect(parseOptions([]).inProcess).toBe(false);
    expect(parseOptions(['--in-process']).inProcess).toBe(true);
  });
});
