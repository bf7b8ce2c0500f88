import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** A relative link of a Markdown file whose target does not exist. */
export interface BrokenLink {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

const LINK = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

/**
 * The relative links (`[text](path)`, `[text](path#anchor)`) of `markdown`
 * whose file or directory does not exist. Links in code are not links; web
 * and mail links and in-page anchors are not checked.
 */
export async function findBrokenLinks(root: string, file: string, markdown: string): Promise<BrokenLink[]> {
  const broken: BrokenLink[] = [];
  let fence: string | undefined;
  const lines = markdown.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence !== undefined) continue;
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(LINK)) {
      if (target === undefined || /^(?:[a-z][a-z0-9+.-]*:|#)/i.test(target)) continue;
      const path = resolve(root, dirname(file), decodeURIComponent(target.split('#')[0]!));
      if (!(await stat(path).then(() => true, () => false))) broken.push({ file, line: i + 1, target });
    }
  }
  return broken;
}
