import type { ScenarioResult } from '../harness/model.js';
import { cpuTable, overheadSummary, tableOf, targetTable, type Table } from './tables.js';

/** A plain-text table for the terminal. */
export function renderText(table: Table): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (table.align[i] === 'right' ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

/** What the console shows after a scenario: its table and its targets. */
export function renderConsoleTable(result: ScenarioResult): string {
  const parts = [`${result.id}: ${result.title}`, renderText(tableOf(result))];
  if (result.kind === 'checkpoint') {
    for (const part of result.overhead) parts.push(`${part.title}\n${renderText(cpuTable(part))}\n${overheadSummary(part, result.intervalMs)}`);
  }
  if (result.targets.length > 0) parts.push(renderText(targetTable(result.targets, result.kind)));
  return parts.join('\n\n');
}
