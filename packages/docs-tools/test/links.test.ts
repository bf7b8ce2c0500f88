import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docFiles } from '../src/checkDocExamples.js';
import { findBrokenLinks } from '../src/links.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'docs-links-'));
  await writeFile(join(root, 'there.md'), '# there\n');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('findBrokenLinks', () => {
  it('reports relative links to missing files, and ignores web links, anchors and code', async () => {
    const md = [
      '[ok](there.md) [ok too](there.md#a-heading) [dir](./)',
      '[gone](gone.md) [web](https://example.com/x.md) [anchor](#top) [mail](mailto:a@b.c)',
      '`[in code](gone.md)`',
      '```md',
      '[in a block](gone.md)',
      '```',
      '[gone too](sub/gone.md "title")',
    ].join('\n');
    expect(await findBrokenLinks(root, 'doc.md', md)).toEqual([
      { file: 'doc.md', line: 2, target: 'gone.md' },
      { file: 'doc.md', line: 7, target: 'sub/gone.md' },
    ]);
  });
});

describe('the docs of this repository', () => {
  it('have no broken relative links', async () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const broken = [];
    for (const file of await docFiles(repo)) broken.push(...(await findBrokenLinks(repo, file, await readFile(join(repo, file), 'utf8'))));
    expect(broken).toEqual([]);
  });
});
