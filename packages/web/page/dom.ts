/** Creates an element with attributes and children: the page's one way to build DOM. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: readonly (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Readonly<Record<string, string | number>> = {}): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** A table with a header row and text cells (`text` class cells are left-aligned). */
export function table(headers: readonly string[], rows: readonly (readonly (string | { text: string; className: string })[])[], rowClass: (i: number) => string = () => ''): HTMLTableElement {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el(
      'tbody',
      {},
      ...rows.map((row, i) =>
        el('tr', { class: rowClass(i) }, ...row.map((cell) => (typeof cell === 'string' ? el('td', {}, cell) : el('td', { class: cell.className }, cell.text)))),
      ),
    ),
  );
}
