/**
 * A small SVG bar-chart writer for the benchmark reports: horizontal grouped
 * bars (one group per category, one bar per series) with the value printed at
 * each bar's end, so values that differ by orders of magnitude stay readable
 * on a linear axis. Plain SVG text, no fonts or scripts to load: it renders on
 * GitHub, in browsers and in image viewers alike. (No charting library here:
 * the well-kept ones need a DOM or a headless browser to produce SVG.)
 */

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  /** One value per category; null draws no bar (not measured). */
  readonly values: ReadonlyArray<number | null>;
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly categories: readonly string[];
  readonly series: readonly ChartSeries[];
  /** Formats a value for its label (default: 3 significant digits). */
  readonly format?: (v: number) => string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `v`. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** The chart as an SVG document. */
export function barChartSvg(c: BarChart): string {
  const fmt = c.format ?? ((v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3)));
  const barH = 12;
  const gap = 8;
  const labelW = 190;
  const plotW = 520;
  const right = 70;
  const top = 44;
  const groupH = c.series.length * barH + gap;
  const height = top + c.categories.length * groupH + 40;
  const width = labelW + plotW + right;
  const max = niceMax(Math.max(0, ...c.series.flatMap((s) => s.values.filter((v): v is number => v !== null))));
  const x = (v: number) => labelW + (v / max) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  // Legend, top right under the title.
  c.series.forEach((s, i) => {
    const lx = labelW + i * 150;
    out.push(`<rect x="${lx}" y="26" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="35">${esc(s.name)}</text>`);
  });
  // Grid lines at fifths of the axis, labelled at the bottom.
  const axisY = top + c.categories.length * groupH;
  for (let k = 0; k <= 5; k++) {
    const v = (max * k) / 5;
    out.push(`<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${axisY}" stroke="#ddd"/>`);
    out.push(`<text x="${x(v)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${esc(fmt(v))}</text>`);
  }
  out.push(`<text x="${labelW + plotW / 2}" y="${axisY + 30}" text-anchor="middle" fill="#333">${esc(c.unit)}</text>`);
  c.categories.forEach((cat, g) => {
    const y0 = top + g * groupH;
    out.push(`<text x="${labelW - 6}" y="${y0 + (c.series.length * barH) / 2 + 4}" text-anchor="end">${esc(cat)}</text>`);
    c.series.forEach((s, i) => {
      const v = s.values[g];
      if (v === null || v === undefined) return;
      const y = y0 + i * barH;
      out.push(`<rect x="${labelW}" y="${y}" width="${Math.max(0.5, x(v) - labelW).toFixed(1)}" height="${barH - 2}" fill="${s.color}"><title>${esc(`${s.name}: ${fmt(v)} ${c.unit}`)}</title></rect>`);
      out.push(`<text x="${(x(v) + 3).toFixed(1)}" y="${y + barH - 3}" fill="#333" font-size="9">${esc(fmt(v))}</text>`);
    });
  });
  out.push(`<line x1="${labelW}" y1="${top - 4}" x2="${labelW}" y2="${axisY}" stroke="#333"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
