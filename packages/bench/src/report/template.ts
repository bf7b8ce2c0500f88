/** What a template's placeholders stand for: text for `{{name}}`, presence for `{{#name}}...{{/name}}`. */
export type TemplateValues = Readonly<Record<string, string | boolean>>;

const NAME = String.raw`[\w.-]+`;
/** A tag alone on its line (`{{#S3}}`, `{{/S3}}`, `{{! comment }}`) takes its line with it. */
const STANDALONE = new RegExp(String.raw`^[ \t]*(\{\{(?:[#/]${NAME}|![\s\S]*?)\}\})[ \t]*\r?\n`, 'gm');
const COMMENT = /\{\{![\s\S]*?\}\}/g;
const BLOCK = new RegExp(String.raw`\{\{#(${NAME})\}\}([\s\S]*?)\{\{/\1\}\}`, 'g');
const PLACEHOLDER = new RegExp(String.raw`\{\{(${NAME})\}\}`, 'g');
const TAG = new RegExp(`${BLOCK.source}|${PLACEHOLDER.source}`, 'g');

/**
 * Fills a Markdown template, a small Mustache: `{{name}}` is replaced by its
 * text, `{{#name}}...{{/name}}` is kept when `name` is true or non-empty
 * text and dropped otherwise, `{{! ... }}` is a comment. A name the values
 * lack is an error, so a typo in the template cannot render as blank.
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  const lookup = (name: string): string | boolean => {
    const value = values[name];
    if (value === undefined) throw new Error(`the template uses {{${name}}}, which has no value`);
    return value;
  };
  // One pass, so a value's own text is never read as a tag.
  const fill = (text: string): string =>
    text.replace(TAG, (_, block: string | undefined, body: string, name: string) => {
      if (block !== undefined) return lookup(block) === false || lookup(block) === '' ? '' : fill(body);
      const value = lookup(name);
      if (typeof value !== 'string') throw new Error(`{{${name}}} is a condition, not text: use {{#${name}}}...{{/${name}}}`);
      return value;
    });
  const tags = template.replace(STANDALONE, '$1').replace(COMMENT, '');
  // Checked on the template alone: a value may hold braces of its own.
  const skeleton = (text: string): string => text.replace(BLOCK, (_, __: string, body: string) => skeleton(body)).replace(PLACEHOLDER, '');
  const stray = /\{\{.*?\}\}/.exec(skeleton(tags));
  if (stray !== null) throw new Error(`the template has an unmatched tag ${stray[0]}`);
  return fill(tags);
}
