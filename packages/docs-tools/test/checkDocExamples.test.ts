import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appearsIn, checkDocExamples, docFiles, formatDocExamplesReport } from '../src/checkDocExamples.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'docs-tools-'));
  await mkdir(join(root, 'docs'));
  await mkdir(join(root, 'examples', 'demo', 'src'), { recursive: true });
  await mkdir(join(root, 'packages', 'lib'), { recursive: true });
  await writeFile(join(root, 'examples', 'demo', 'src', 'job.ts'), 'import x from "y";\n\nexport function job() {\n  return 42;\n}\n');
  await writeFile(join(root, 'packages', 'lib', 'README.md'), '# lib\n');
  await writeFile(
    join(root, 'docs', 'guide.md'),
    [
      '<!-- example: ../examples/demo/src/job.ts -->',
      '```ts',
      'export function job() {',
      '  return 42;',
      '}',
      '```',
      '<!-- example: ../examples/demo/src/job.ts -->',
      '```ts',
      'export function job() {',
      '  return 43;',
      '}',
      '```',
      '<!-- example: ../examples/demo/src/gone.ts -->',
      '```ts',
      'gone();',
      '```',
      '```ts',
      'illustrative();',
      '```',
      '```sh',
      'not code to check',
      '```',
    ].join('\n'),
  );
  await writeFile(join(root, 'README.md'), '<!-- example: examples/demo/src/job.ts -->\n```ts\nimport x from "y";\n```\n');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkDocExamples', { timeout: 60_000 }, () => {
  it('lists the root README, docs/*.md and the READMEs of packages and examples', async () => {
    expect(await docFiles(root)).toEqual(['README.md', join('docs', 'guide.md'), join('packages', 'lib', 'README.md')]);
  });

  it('verifies marked blocks against their files, reports drift and missing files, and lists unmarked TypeScript', async () => {
    const report = await checkDocExamples(root, await docFiles(root));
    expect(report.verified.map((b) => `${b.file}:${b.line}`)).toEqual(['README.md:2', `${join('docs', 'guide.md')}:2`]);
    expect(report.failures.map((f) => [f.block.line, f.reason])).toEqual([
      [8, `it is not in ${join('examples', 'demo', 'src', 'job.ts')}: line 2 of the block, "  return 43;", is not`],
      [14, `its source ${join('examples', 'demo', 'src', 'gone.ts')} cannot be read`],
    ]);
    expect(report.unmarked.map((b) => b.line)).toEqual([17]);
    expect(report.incomplete.map((p) => [p.block.line, p.reason])).toEqual([[17, "it uses 'illustrative' without importing or declaring it"]]);
    expect(formatDocExamplesReport(report)).toContain(`FAIL ${join('docs', 'guide.md')}:8 (example: ../examples/demo/src/job.ts): it is not in`);
  });
});

describe('the docs of this repository', { timeout: 60_000 }, () => {
  it('show every marked block exactly as it is in its file', async () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const report = await checkDocExamples(repo, await docFiles(repo));
    expect(formatDocExamplesReport(report)).toContain(`${report.verified.length} marked blocks match their files, 0 do not.`);
    // Every TypeScript block, marked or not, is a whole construct with its imports.
    expect(report.incomplete.map((p) => `${p.block.file}:${p.block.line}: ${p.reason}`)).toEqual([]);
    // The getting-started guide and the README show code from the examples, marked.
    expect(report.verified.filter((b) => b.file === join('docs', 'getting-started.md')).length).toBeGreaterThanOrEqual(3);
    expect(report.verified.some((b) => b.file === 'README.md')).toBe(true);
  });
});

describe('appearsIn', () => {
  const source = 'function f() {\n  if (x) {\n    y();\n\n    z();\n  }\n}\n';
  it('accepts an excerpt verbatim, or with its indentation removed evenly', () => {
    expect(appearsIn('  if (x) {\n    y();\n', source)).toBe(true);
    expect(appearsIn('if (x) {\n  y();\n\n  z();\n}\n', source)).toBe(true);
  });
  it("leaves lines out at a '// ...' line, keeping the order of the runs", () => {
    expect(appearsIn('function f() {\n// ...\n    z();\n', source)).toBe(true);
    expect(appearsIn('function f() {\n\n// ...\n\nif (x) {\n  y();\n', source)).toBe(true);
    expect(appearsIn('    z();\n// ...\nfunction f() {\n', source)).toBe(false);
    expect(appearsIn('function f() {\n// ...\n    w();\n', source)).toBe(false);
  });
  it('rejects changed text, uneven indentation and reordered lines', () => {
    expect(appearsIn('if (x) {\n  w();\n', source)).toBe(false);
    expect(appearsIn('if (x) {\n    y();\n', source)).toBe(false);
    expect(appearsIn('  z();\n  y();\n', source)).toBe(false);
  });
});
