import { describe, expect, it } from 'vitest';
import type { CodeBlock } from '../src/codeBlocks.js';
import { checkSnippets } from '../src/snippets.js';

const block = (code: string, line = 1, lang = 'ts'): CodeBlock => ({ file: 'doc.md', line, lang, code, source: undefined });
const reasons = (...blocks: CodeBlock[]) => checkSnippets(blocks.map((b) => ({ block: b }))).map((p) => [p.block.line, p.reason]);

// Each check builds a TypeScript program with Node's types: seconds on a loaded machine.
describe('checkSnippets', { timeout: 60_000 }, () => {
  it('accepts a whole program: its imports, its own declarations, Node globals', () => {
    const code = [
      "import { StreamExecutionEnvironment } from '@tributary/core';",
      "import { texts } from './app.js';",
      '',
      'const env = StreamExecutionEnvironment.create();',
      'env.fromCollection(texts).addSink((t) => console.log(t, process.pid, Buffer.byteLength(t)));',
      "await env.execute('print');",
      '',
    ].join('\n');
    expect(reasons(block(code), block('function f(x) {\n  return x + 1;\n}\n', 2, 'js'))).toEqual([]);
  });

  it('rejects a block that starts or ends mid-construct, naming the line of the page', () => {
    expect(reasons(block('};\n\nconst x = 1;\n', 10))).toEqual([[10, "it does not parse as a whole: Declaration or statement expected. (line 11)"]]);
    expect(reasons(block('it("runs", async () => {\n  await run();\n', 20))).toEqual([[20, "it does not parse as a whole: '}' expected. (line 23)"]]);
  });

  it('rejects a block that uses names it neither imports nor declares', () => {
    expect(reasons(block("const env = StreamExecutionEnvironment.create();\nAsyncDataStream.unorderedWaitBatch(env.fromCollection(texts), embed, {});\n"))).toEqual([
      [1, "it uses 'StreamExecutionEnvironment', 'AsyncDataStream', 'texts', 'embed' without importing or declaring them"],
    ]);
    expect(reasons(block("import { expect } from 'vitest';\n\nexpect(harness.getOutput()).toEqual([]);\n"))).toEqual([[1, "it uses 'harness' without importing or declaring it"]]);
  });

  it("lets an excerpt use its file's top-level declarations, not the file's imports", () => {
    const source = "import { OutputTag } from '@tributary/core';\n\nexport const tag = new OutputTag<string>('t');\nexport function helper() {}\ninterface Shape { a: number }\n";
    const excerpt = { ...block("helper();\nconst s: Shape = { a: 1 };\nconsole.log(tag, new OutputTag('u'));\n"), source: '../src/x.ts' };
    expect(checkSnippets([{ block: excerpt, source }]).map((p) => p.reason)).toEqual(["it uses 'OutputTag' without importing or declaring it"]);
  });
});
