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

  it('measures a contender in a fresh process and returns its checksum and CPU time', async () => {
    const sample = await sampleInChild({ scenario: 'S3', contender: 'tributary', records: 3_000, warmupRuns: 1 }, child);
    expect({ count: sample.value.count, sum: sample.value.sum }).toEqual(expectedS3(3_000));
    expect(sample.cpuNs).toBeGreaterThan(0);
    expect(sample.wallNs).toBeGreaterThan(0);
  });

  it('fails naming the scenario and contender it cannot find', async () => {
    await expect(sampleInChild({ scenario: 'S3', contender: 'nope', records: 10, warmupRuns: 1 }, child)).rejects.toThrow(
      'S3 nope: scenario S3 has no contender nope',
    );
  });

  it('is what the CLI does unless told --in-process', () => {
    expect(parseOptions([]).inProcess).toBe(false);
    expect(parseOptions(['--in-process']).inProcess).toBe(true);
  });
});
