/**
 * A small SVG chart generator: horizontal bars and a line chart over a
 * log2 x axis. Output is deterministic text (same data, same bytes), so
 * the committed charts only change when the figures do.
 */

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly color: string;
  /** Text after the bar; defaults to the value. */
  readonly text?: string;
}

export interface BarChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly unit: string;
  readonly bars: readonly Bar[];
  /** A vertical reference line (e.g. 100% of the bound). */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Axis maximum; default: a round number above the largest value. */
  readonly max?: number;
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [x: number, y: number])[];
  readonly dashed?: boolean;
}

export interface LineChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** The x values to tick (the axis is log2). */
  readonly xTicks: readonly number[];
  /** The y axis' top; values above are drawn at the top. */
  readonly yMax: number;
  readonly series: readonly Series[];
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Escapes text for SVG. */
export function escapeXml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** A "nice" axis maximum (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten), at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** How many grid steps split `0..max` into round numbers (1, 2, 2.5 or 5 times a power of ten). */
function gridDivisions(max: number): number {
  for (const d of [5, 4, 6, 8]) {
    const step = max / d;
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    if ([1, 2, 2.5, 5].some((m) => Math.abs(m - mantissa) < 1e-9)) return d;
  }
  return 4;
}

export function renderBarChart(chart: BarChart): string {
  const labelWidth = 20 + Math.max(...chart.bars.map((b) => b.label.length)) * 6.6;
  const plotWidth = 460;
  const valueWidth = 110;
  const width = Math.round(labelWidth + plotWidth + valueWidth);
  const top = chart.subtitle === undefined ? 44 : 62;
  const rowHeight = 28;
  const height = top + chart.bars.length * rowHeight + 40;
  const values = chart.bars.map((b) => b.value);
  const max = chart.max ?? niceMax(Math.max(...values, chart.reference?.value ?? 0));
  const x = (v: number): number => labelWidth + (plotWidth * v) / max;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="15" font-weight="600" fill="#111827">${escapeXml(chart.title)}</text>`);
  if (chart.subtitle !== undefined) out.push(`<text x="16" y="44" fill="#4b5563">${escapeXml(chart.subtitle)}</text>`);
  const axisY = top + chart.bars.length * rowHeight + 4;
  const divisions = gridDivisions(max);
  for (let i = 0; i <= divisions; i++) {
    const v = (max * i) / divisions;
    const gx = x(v).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${axisY}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${gx}" y="${axisY + 16}" text-anchor="middle" fill="#6b7280">${fmt(v)}</text>`);
  }
  out.push(`<text x="${(labelWidth + plotWidth).toFixed(1)}" y="${axisY + 32}" text-anchor="end" fill="#6b7280">${escapeXml(chart.unit)}</text>`);
  chart.bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    out.push(`<text x="${(labelWidth - 8).toFixed(1)}" y="${y + 15}" text-anchor="end" fill="#111827">${escapeXml(bar.label)}</text>`);
    const w = Math.max(1, x(Math.min(bar.value, max)) - labelWidth);
    out.push(`<rect x="${labelWidth.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 10}" rx="2" fill="${bar.color}"/>`);
    const text = escapeXml(bar.text ?? fmt(bar.value));
    // Long bars carry their figure inside, so it never collides with a reference line.
    if (w > plotWidth * 0.7) out.push(`<text x="${(labelWidth + w - 6).toFixed(1)}" y="${y + 15}" text-anchor="end" fill="#ffffff">${text}</text>`);
    else out.push(`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}" fill="#111827">${text}</text>`);
  });
  if (chart.reference !== undefined) {
    const rx = x(chart.reference.value).toFixed(1);
    out.push(`<line x1="${rx}" y1="${top - 8}" x2="${rx}" y2="${axisY}" stroke="#111827" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${rx}" y="${top - 12}" text-anchor="middle" fill="#111827">${escapeXml(chart.reference.label)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function renderLineChart(chart: LineChart): string {
  const left = 64;
  const plotWidth = 520;
  const legendWidth = 60 + Math.max(...chart.series.map((s) => s.name.length)) * 6.8;
  const width = Math.round(left + plotWidth + legendWidth);
  const top = chart.subtitle === undefined ? 48 : 66;
  const plotHeight = 300;
  const height = top + plotHeight + 56;
  const minX = Math.log2(Math.min(...chart.xTicks));
  const maxX = Math.log2(Math.max(...chart.xTicks));
  const yMax = chart.yMax;
  const px = (v: number): number => left + (plotWidth * (Math.log2(v) - minX)) / (maxX - minX || 1);
  const py = (v: number): number => top + plotHeight - (plotHeight * Math.min(v, yMax)) / yMax;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="15" font-weight="600" fill="#111827">${escapeXml(chart.title)}</text>`);
  if (chart.subtitle !== undefined) out.push(`<text x="16" y="44" fill="#4b5563">${escapeXml(chart.subtitle)}</text>`);
  const divisions = gridDivisions(yMax);
  for (let i = 0; i <= divisions; i++) {
    const v = (yMax * i) / divisions;
    const y = py(v).toFixed(1);
    out.push(`<line x1="${left}" y1="${y}" x2="${left + plotWidth}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${left - 8}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" fill="#6b7280">${Math.round(v).toLocaleString('en-US')}</text>`);
  }
  for (const t of chart.xTicks) {
    const x = px(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + plotHeight}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${x}" y="${top + plotHeight + 18}" text-anchor="middle" fill="#6b7280">${t}</text>`);
  }
  out.push(`<text x="${left + plotWidth / 2}" y="${top + plotHeight + 40}" text-anchor="middle" fill="#374151">${escapeXml(chart.xLabel)}</text>`);
  out.push(
    `<text x="16" y="${top + plotHeight / 2}" text-anchor="middle" fill="#374151" transform="rotate(-90 16 ${top + plotHeight / 2})">${escapeXml(chart.yLabel)}</text>`,
  );
  out.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#9ca3af"/>`);
  chart.series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (pts.length > 0) {
      out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const [x, y] of s.points) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    }
    const ly = top + 12 + i * 22;
    const lx = left + plotWidth + 20;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}" fill="#111827">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
