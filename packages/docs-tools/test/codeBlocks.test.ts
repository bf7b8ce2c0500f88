import { describe, expect, it } from 'vitest';
import { findCodeBlocks } from '../src/codeBlocks.js';

describe('findCodeBlocks', () => {
  it('finds fenced blocks with their language, line and marker', () => {
    const md = [
      '# Title',
      '',
      '<!-- example: ../src/a.ts -->',
      '```ts',
      'const a = 1;',
      '```',
      '',
      '```sh',
      'pnpm start',
      '```',
      '<!-- example: b.ts -->',
      '',
      '~~~typescript title="b"',
      'const b = "```";',
      '~~~',
    ].join('\n');
    expect(findCodeBlocks(md, 'doc.md')).toEqual([
      { file: 'doc.md', line: 4, lang: 'ts', code: 'const a = 1;\n', source: '../src/a.ts' },
      { file: 'doc.md', line: 8, lang: 'sh', code: 'pnpm start\n', source: undefined },
      { file: 'doc.md', line: 13, lang: 'typescript', code: 'const b = "```";\n', source: 'b.ts' },
    ]);
  });

  it('removes the indentation of a block inside a list item, and needs the marker right before the block', () => {
    const md = ['- step one:', '  <!-- example: x.ts -->', '  ```ts', '  if (x) {', '    y();', '  }', '  ```', '', '<!-- example: y.ts -->', 'Some text.', '```ts', 'z();', '```'].join('\n');
    const [first, second] = findCodeBlocks(md, 'doc.md');
    expect(first).toMatchObject({ code: 'if (x) {\n  y();\n}\n', source: 'x.ts' });
    expect(second).toMatchObject({ code: 'z();\n', source: undefined });
  });

  it('ends a block at a longer closing fence, and at the end of the file when it is never closed', () => {
    const blocks = findCodeBlocks(['````md', '```ts', 'inner', '```', '````', '```js', 'open'].join('\n'), 'doc.md');
    expect(blocks.map((b) => [b.lang, b.code])).toEqual([
      ['md', '```ts\ninner\n```\n'],
      ['js', 'open\n'],
    ]);
  });
});
