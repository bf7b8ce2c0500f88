import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readResults } from '../src/harness/results.js';
import { paths } from '../src/paths.js';
import { renderDocs } from '../src/report/docs.js';
import { renderTemplate } from '../src/report/template.js';

describe('renderTemplate', () => {
  it('fills placeholders, keeps or drops blocks, and drops the lines of standalone tags and comments', () => {
    const template = ['{{! a comment', 'over two lines }}', '# {{title}}', '{{#shown}}', 'kept: {{figure}}', '{{/shown}}', '{{#hidden}}', 'dropped {{nowhere}}', '{{/hidden}}', 'inline{{#empty}} not{{/empty}}.', ''].join('\n');
    expect(renderTemplate(template, { title: 'T', shown: true, figure: '1.5x', hidden: false, empty: '' })).toBe('# T\nkept: 1.5x\ninline.\n');
  });

  it('does not read a value as a tag', () => {
    expect(renderTemplate('{{a}}', { a: '{{b}}' })).toBe('{{b}}');
  });

  it('fails on a name without a value, a condition used as text, and an unmatched tag', () => {
    expect(() => renderTemplate('{{typo}}', {})).toThrow('the template uses {{typo}}, which has no value');
    expect(() => renderTemplate('{{#S3}}x{{/S3}}', {})).toThrow('{{S3}}');
    expect(() => renderTemplate('{{S3}}', { S3: true })).toThrow('{{S3}} is a condition, not text');
    expect(() => renderTemplate('{{#S3}}\nx\n', { S3: true })).toThrow('the template has an unmatched tag {{#S3}}');
  });
});

describe('docs/benchmarks.md', () => {
  it('is the template rendered from results/latest.json (run `pnpm --filter @tributary/bench bench:docs` after editing the template)', () => {
    expect(renderDocs(readResults(paths.latestResults), 'benchmarks')).toBe(readFileSync(paths.docs, 'utf8'));
  });

  it('renders without a scenario: its section, its targets and its summary lines go', () => {
    const { scenarios } = readResults(paths.latestResults);
    const { S5: _s5, ...withoutS5 } = scenarios;
    const page = renderDocs({ schema: readResults(paths.latestResults).schema, scenarios: withoutS5 }, 'benchmarks');
    expect(page).not.toContain('## S5:');
    expect(page).not.toContain('| S5 |');
    expect(page).not.toContain('- **A local model** (S5');
    // S5b is a scenario of its own: it stays.
    expect(page).toContain('## S5b:');
    expect(page).toContain('## S3: map -> filter -> map');
    expect(page).toContain('- **What batching buys** (S1');
    const { S1: _s1, ...withoutS1 } = scenarios;
    const withoutService = renderDocs({ schema: readResults(paths.latestResults).schema, scenarios: withoutS1 }, 'benchmarks');
    expect(withoutService).not.toContain('What batching buys');
    expect(withoutService).toContain('- **A local model** (S5');
  });
});
