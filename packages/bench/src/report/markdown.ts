import type { Table } from './tables.js';

/** A GitHub-flavoured markdown table; `|` in cells is escaped. */
export function renderMarkdownTable(table: Table): string {
  const cell = (s: string): string => s.replaceAll('|', '\\|');
  const header = `| ${table.headers.map(cell).join(' | ')} |`;
  const rule = `|${table.align.map((a) => (a === 'right' ? '---:' : '---')).join('|')}|`;
  const rows = table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}
