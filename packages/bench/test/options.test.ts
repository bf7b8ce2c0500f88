import { describe, expect, it } from 'vitest';
import { ALL_SCENARIOS, parseOptions } from '../src/options.js';

describe('parseOptions', () => {
  it('defaults to every scenario, measured, docs written', () => {
    expect(parseOptions([], {})).toEqual({
      scenarios: ALL_SCENARIOS,
      quick: false,
      records: {},
      repetitions: undefined,
      docsOnly: false,
      noDocs: false,
      inProcess: false,
      note: undefined,
      help: false,
    });
  });

  it('reads every flag, as `--flag value` or `--flag=value`, and skips the `--` pnpm passes on', () => {
    const options = parseOptions(
      ['--', '--scenario', 's3,S4', '--quick', '--records=S3=1_000,S4=20', '--reps', '3', '--note', 'shared VM', '--no-docs', '--in-process'],
      {},
    );
    expect(options).toEqual({
      scenarios: ['S3', 'S4'],
      quick: true,
      records: { S3: 1000, S4: 20 },
      repetitions: 3,
      docsOnly: false,
      noDocs: true,
      inProcess: true,
      note: 'shared VM',
      help: false,
    });
    expect(parseOptions(['--docs-only'], {}).docsOnly).toBe(true);
    expect(parseOptions(['-h'], {}).help).toBe(true);
    expect(parseOptions(['--help'], {}).help).toBe(true);
    expect(parseOptions(['--scenarios', 'CK'], {}).scenarios).toEqual(['CK']);
  });

  it('gives one record count to every chosen scenario', () => {
    expect(parseOptions(['--scenario', 'S1,S2', '--records', '500'], {}).records).toEqual({ S1: 500, S2: 500 });
  });

  it('takes BENCH_RECORDS, BENCH_REPS and BENCH_NOTE from the environment, and the flags over them', () => {
    const env = { BENCH_RECORDS: 'S5=64', BENCH_REPS: '2', BENCH_NOTE: 'from env' };
    expect(parseOptions([], env)).toMatchObject({ records: { S5: 64 }, repetitions: 2, note: 'from env' });
    expect(parseOptions(['--reps', '4', '--note', 'flag', '--records', 'S5=8'], env)).toMatchObject({ records: { S5: 8 }, repetitions: 4, note: 'flag' });
  });

  it.each([
    [['--fast'], "Unknown option '--fast' (try --help)"],
    [['--docs_only'], "Unknown option '--docs_only' (try --help)"],
    [['--reps'], "Option '--reps <value>' argument missing (try --help)"],
    [['--note', '--quick'], "Option '--note' argument is ambiguous. (try --help)"],
    [['--quick=yes'], "Option '--quick' does not take an argument (try --help)"],
    [['S3'], "Unexpected argument 'S3'. This command does not take positional arguments (try --help)"],
    [['--scenario', 'S9'], "unknown scenario 'S9': expected one of S3, S4, S2, S1, S1-sweep, S1-memory, CK, S5, S5b, S4-edge, S7, S6, S8"],
    [['--reps', '0'], "--reps must be a positive integer, got '0'"],
    [['--records', 'S3=lots'], "--records must be a positive integer, got 'lots'"],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(new Error(message));
  });

  it('checks the environment as strictly as the flags', () => {
    expect(() => parseOptions([], { BENCH_REPS: 'many' })).toThrow("--reps must be a positive integer, got 'many'");
  });
});
