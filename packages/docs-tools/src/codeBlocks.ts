/** A fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, as given to {@link findCodeBlocks}. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The info string's first word (`ts`, `sh`), or `''`. */
  readonly lang: string;
  /** The block's text without the fences, its indentation removed, ending with a newline. */
  readonly code: string;
  /** The path in an `<!-- example: PATH -->` comment right before the block, relative to the Markdown file. */
  readonly source: string | undefined;
}

/**
 * The marker that says a block is extracted from a file: an HTML comment on
 * the last non-blank line before the opening fence. It is invisible in the
 * rendered page, so the page reads the same with or without it.
 */
const MARKER = /^\s*<!--\s*example:\s*(\S+)\s*-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;

/** Every fenced code block of `markdown`, in order, with its `example:` marker if it has one. */
export function findCodeBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = '', fence = '', lang = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    // The block ends at a fence of the same character, at least as long (CommonMark), or at the end of the file.
    while (j < lines.length && !isClosingFence(lines[j]!, fence)) {
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
      j++;
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const marker = k >= 0 ? MARKER.exec(lines[k]!) : null;
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), code: body.length === 0 ? '' : `${body.join('\n')}\n`, source: marker?.[1] });
    i = j;
  }
  return blocks;
}

function isClosingFence(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return trimmed.length >= fence.length && trimmed === fence[0]!.repeat(trimmed.length);
}
