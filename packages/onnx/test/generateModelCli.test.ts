import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerateModelCli } from '../src/cli/generateModelCli.js';
import { buildEmbedderModel } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-onnx-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  return runGenerateModelCli(argv, { log: (l) => out.push(l), error: (l) => err.push(l) }).then((code) => ({ code, out, err }));
}

describe('tributary-onnx-model', () => {
  it('writes the model configured by its flags to --out', async () => {
    const path = join(dir, 'cli.onnx');
    const { code, out, err } = await run(['--out', path, '--seed', '5', '--vocab', '1024', '--dim', '16', '--output-dim', '8']);
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toEqual([`${path} (seed 5, vocab 1024, dim 16, output 8)`]);
    const expected = buildEmbedderModel({ seed: 5, vocab: 1024, dim: 16, outputDim: 8 });
    expect(Buffer.from(await readFile(path)).equals(expected)).toBe(true);
  });

  it('prints usage with --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('Usage: tributary-onnx-model');
  });

  it('reports a bad flag or value in one line, with a non-zero exit code', async () => {
    const unknown = await run(['--colour', 'red']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toHaveLength(1);
    expect(unknown.err[0]).toMatch(/^tributary-onnx-model: .*--colour.* \(see --help\)$/);
    const bad = await run(['--out', join(dir, 'x.onnx'), '--vocab', 'lots']);
    expect(bad.code).toBe(1);
    expect(bad.err).toEqual(["tributary-onnx-model: generateEmbedderModel: option 'vocab' must be an integer in [2, 16777216], got NaN"]);
  });
});
