import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { findCodeBlocks, type CodeBlock } from './codeBlocks.js';
import { checkSnippets, CODE_LANGS, type Snippet, type SnippetProblem } from './snippets.js';

/** What {@link checkDocExamples} found. */
export interface DocExamplesReport {
  /** Marked blocks whose text is in their file. */
  readonly verified: readonly CodeBlock[];
  /** Marked blocks whose file is missing or no longer holds their text. */
  readonly failures: readonly { readonly block: CodeBlock; readonly reason: string }[];
  /** TypeScript and JavaScript blocks without a marker: not compared with a file. */
  readonly unmarked: readonly CodeBlock[];
  /** TypeScript and JavaScript blocks, marked or not, that are not whole constructs with their imports. */
  readonly incomplete: readonly SnippetProblem[];
}

/**
 * The Markdown files whose examples are checked, relative to the repository
 * root: `README.md`, `docs/*.md`, and the READMEs of packages and examples.
 */
export async function docFiles(root: string): Promise<string[]> {
  const files = ['README.md'];
  const markdownIn = async (dir: string) =>
    (await readdir(join(root, dir)).catch(() => [] as string[])).filter((name) => name.endsWith('.md')).sort().map((name) => join(dir, name));
  files.push(...(await markdownIn('docs')));
  for (const parent of ['packages', 'examples']) {
    const dirs = await readdir(join(root, parent), { withFileTypes: true }).catch(() => []);
    for (const dir of dirs.filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      if ((await readdir(join(root, parent, dir))).includes('README.md')) files.push(join(parent, dir, 'README.md'));
    }
  }
  return files;
}

/**
 * Checks that every code block marked `<!-- example: PATH -->` still appears
 * verbatim in PATH (relative to the Markdown file), or verbatim with the
 * same indentation added to every line: the docs show code that lives in a
 * tested file, so it compiles and runs. Lists the unmarked TypeScript
 * blocks, and checks that every TypeScript block is a whole construct with
 * its imports (see {@link checkSnippets}).
 */
export async function checkDocExamples(root: string, files: readonly string[]): Promise<DocExamplesReport> {
  const verified: CodeBlock[] = [];
  const failures: { block: CodeBlock; reason: string }[] = [];
  const unmarked: CodeBlock[] = [];
  const snippets: Snippet[] = [];
  for (const file of files) {
    const markdown = await readFile(resolve(root, file), 'utf8');
    for (const block of findCodeBlocks(markdown, file)) {
      if (block.source === undefined) {
        if (CODE_LANGS.has(block.lang)) {
          unmarked.push(block);
          snippets.push({ block });
        }
        continue;
      }
      const sourcePath = resolve(root, dirname(file), block.source);
      let source: string;
      try {
        source = await readFile(sourcePath, 'utf8');
      } catch {
        failures.push({ block, reason: `its source ${relative(root, sourcePath)} cannot be read` });
        continue;
      }
      if (CODE_LANGS.has(block.lang)) snippets.push({ block, source });
      if (block.code.trim() === '') failures.push({ block, reason: 'the block is empty' });
      else if (appearsIn(block.code, source)) verified.push(block);
      else failures.push({ block, reason: `it is not in ${relative(root, sourcePath)}: ${firstMissingLine(block.code, source)}` });
    }
  }
  return { verified, failures, unmarked, incomplete: checkSnippets(snippets) };
}

/** A line `// ...` in a marked block stands for lines of the file left out. */
const ELISION = /^\s*\/\/ \.\.\.\s*$/;

/**
 * Whether `code` is a run of lines of `source`, verbatim or indented by the
 * same number of spaces throughout: an excerpt from inside a function may be
 * shown without its indentation. A `// ...` line leaves lines out: the runs
 * it separates (such as the file's imports, then a function) must appear in
 * that order.
 */
export function appearsIn(code: string, source: string): boolean {
  // Whole lines only: a block must start where a line of the source starts (and it ends with a newline).
  const text = `\n${source}${source.endsWith('\n') ? '' : '\n'}`;
  let from = 0;
  for (const run of runsOf(code)) {
    const at = indexOfRun(run, text, from);
    if (at < 0) return false;
    from = at + 1;
  }
  return true;
}

/** The block's runs of lines between `// ...` lines, without blank lines at their edges. */
function runsOf(code: string): string[][] {
  const runs: string[][] = [[]];
  for (const line of code.split('\n')) {
    if (ELISION.test(line)) runs.push([]);
    else runs[runs.length - 1]!.push(line);
  }
  return runs
    .map((run) => run.slice(run.findIndex((line) => line.trim() !== ''), run.findLastIndex((line) => line.trim() !== '') + 1))
    .filter((run) => run.length > 0 && run[0]!.trim() !== '');
}

/** Where the run starts in `text` at or after `from`, indented evenly by up to 16 spaces, or -1. */
function indexOfRun(run: readonly string[], text: string, from: number): number {
  for (let indent = 0; indent <= 16; indent++) {
    const pad = ' '.repeat(indent);
    const at = text.indexOf(`\n${run.map((line) => (line === '' ? line : pad + line)).join('\n')}\n`, from);
    if (at >= 0) return at;
  }
  return -1;
}

/** Points at the drift: the first line of the block that is not a line of the source. */
function firstMissingLine(code: string, source: string): string {
  const lines = new Set(source.split('\n').map((line) => line.trim()));
  const missing = code.split('\n').findIndex((line) => !lines.has(line.trim()));
  return missing < 0 ? 'its lines are all there, but not in this order' : `line ${missing + 1} of the block, ${JSON.stringify(code.split('\n')[missing])}, is not`;
}

/** The report as text: failures first, then what was verified and what is unmarked. */
export function formatDocExamplesReport(report: DocExamplesReport): string {
  const at = (b: CodeBlock) => `${b.file}:${b.line}`;
  const lines: string[] = [];
  for (const { block, reason } of report.failures) lines.push(`FAIL ${at(block)} (example: ${block.source}): ${reason}`);
  lines.push(`${report.verified.length} marked blocks match their files, ${report.failures.length} do not.`);
  for (const { block, reason } of report.incomplete) lines.push(`FAIL ${at(block)}: not a whole construct with its imports: ${reason}`);
  lines.push(`${report.incomplete.length} TypeScript blocks are not whole constructs with their imports.`);
  if (report.unmarked.length > 0) {
    lines.push(`${report.unmarked.length} TypeScript blocks are unmarked (parsed and checked for imports, not compared with a file):`);
    for (const b of report.unmarked) lines.push(`  ${at(b)}`);
  }
  return `${lines.join('\n')}\n`;
}
