import { createRequire } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import type { CodeBlock } from './codeBlocks.js';

/** The languages whose blocks must be whole programs. */
export const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'tsx', 'mts']);

/** A block to check, with the text of the file it is an excerpt of (marked blocks). */
export interface Snippet {
  readonly block: CodeBlock;
  readonly source?: string;
}

/** A block that is not a whole construct with its imports, and why. */
export interface SnippetProblem {
  readonly block: CodeBlock;
  readonly reason: string;
}

/** The declaration files every program reads (the ES lib, `@types/node`), parsed once per process. */
const LIBRARIES = new Map<string, ts.SourceFile>();

/** "Cannot find name" in its forms (plain, did-you-mean, namespace, Node's install-the-types hints). */
const UNDECLARED = new Set([2304, 2503, 2552, 2580, 2581, 2582, 2591, 2592, 2593]);

/**
 * Checks that every block is a whole construct a reader can paste into a
 * file: it parses on its own (no block starts or ends mid-construct, as one
 * that opens with `};`), and every name it uses is declared in it, imported
 * by it, or a global of Node.js (so the block shows its imports). An excerpt
 * may also use what its file declares at the top level (the page links the
 * file), but not what the file imports. Imported modules are not resolved:
 * an import from './model.js' stands for the reader's own code.
 */
export function checkSnippets(snippets: readonly Snippet[]): SnippetProblem[] {
  const problems: SnippetProblem[] = [];
  const files = new Map<string, CodeBlock>();
  const declaredInFile = new Map<CodeBlock, ReadonlySet<string>>();
  for (const { block, source } of snippets) {
    if (source !== undefined) declaredInFile.set(block, topLevelNames(source));
    const parsed = ts.transpileModule(block.code, { reportDiagnostics: true, fileName: fileNameOf(block), compilerOptions: COMPILER_OPTIONS });
    const syntax = parsed.diagnostics ?? [];
    if (syntax.length > 0) problems.push({ block, reason: `it does not parse as a whole: ${describe(syntax[0]!, block)}` });
    else files.set(fileNameOf(block), block);
  }
  if (files.size === 0) return problems;
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => files.get(name)?.code ?? readFile(name);
  host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
  host.getSourceFile = (name, version) => {
    const block = files.get(name);
    if (block !== undefined) return ts.createSourceFile(name, block.code, version, true);
    // The lib and Node's types are the same for every call: parse them once.
    let parsed = LIBRARIES.get(name);
    if (parsed === undefined) {
      parsed = getSourceFile(name, version);
      if (parsed !== undefined) LIBRARIES.set(name, parsed);
    }
    return parsed;
  };
  const program = ts.createProgram({ rootNames: [...files.keys()], options: COMPILER_OPTIONS, host });
  for (const [name, block] of files) {
    const inFile = declaredInFile.get(block);
    const undeclared = program.getSemanticDiagnostics(program.getSourceFile(name)).filter((d) => UNDECLARED.has(d.code));
    const names = [...new Set(undeclared.map(undeclaredName))].filter((n) => inFile?.has(n) !== true);
    if (names.length > 0) {
      problems.push({ block, reason: `it uses ${names.map((n) => `'${n}'`).join(', ')} without importing or declaring ${names.length === 1 ? 'it' : 'them'}` });
    }
  }
  return problems.sort((a, b) => a.block.file.localeCompare(b.block.file) || a.block.line - b.block.line);
}

/** Node.js types from the workspace (`@types/node`); the blocks sit where no module resolves, so only their own names are checked. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  moduleDetection: ts.ModuleDetectionKind.Force,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  typeRoots: [join(typesNodeDir(), '..')],
  noEmit: true,
  allowJs: true,
  checkJs: true,
  skipLibCheck: true,
};

/** Where `@types/node` is installed, found from here as Node would (the workspace root has it). */
function typesNodeDir(): string {
  return join(createRequire(import.meta.url).resolve('@types/node/package.json'), '..');
}

/** A file name per block, with the extension its language compiles as. */
function fileNameOf(block: CodeBlock): string {
  const ext = block.lang === 'js' || block.lang === 'javascript' ? 'js' : block.lang === 'tsx' ? 'tsx' : 'ts';
  return `/__snippets__/${block.file.replaceAll(/[\\/]/g, '_')}_${block.line}.${ext}`;
}

/** The names a file declares at the top level (functions, classes, types, variables), not those it imports. */
function topLevelNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const statement of ts.createSourceFile('source.ts', source, ts.ScriptTarget.ES2023).statements) {
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

function undeclaredName(d: ts.Diagnostic): string {
  return /'([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, '\n'))?.[1] ?? '?';
}

/** The first diagnostic, with its line in the Markdown file (the block's code starts the line after the fence). */
function describe(d: ts.Diagnostic, block: CodeBlock): string {
  const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + block.line + 1 : block.line;
  return `${ts.flattenDiagnosticMessageText(d.messageText, ' ')} (line ${line})`;
}
