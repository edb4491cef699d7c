/**
 * SVG charts for docs/benchmarks.md, drawn from the run's numbers by string templates:
 * no chart library, no browser. Plain SVG 1.1 with a white background, so GitHub shows
 * it through an `<img>` (no scripts, no external fonts) in light and dark themes alike.
 *
 * Three kinds: horizontal bars (ratios against the raw primitive, with a line at 1× and
 * each bar's aim), grouped horizontal bars (two or more series per category), and a
 * latency percentile curve on a "nines" axis (50, 90, 99, 99.9 equally spaced).
 */

/** One bar: `aim` draws a tick on it, `met` colours it (undefined: no aim). */
export interface Bar {
  label: string;
  value: number;
  /** Printed at the bar's end instead of the value. */
  text?: string;
  aim?: number;
  met?: boolean;
}

export interface Series {
  name: string;
  values: number[];
}

export interface CurveSeries {
  name: string;
  /** [percentile 0–100, ms]; 100 is the maximum. */
  points: [number, number][];
}

const WIDTH = 820;
const FONT = 'font-family="-apple-system,Segoe UI,Helvetica,Arial,sans-serif"';
const COLORS = { met: '#2e7d32', missed: '#c62828', neutral: '#1565c0', grid: '#e0e0e0', axis: '#616161', text: '#212121' };
const SERIES_COLORS = ['#1565c0', '#9e9e9e', '#ef6c00', '#6a1b9a'];
const ROW = 22;
const TITLE_H = 34;

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function svg(height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" fill="${COLORS.text}" ${attrs}>${escapeXml(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, attrs = ''): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}" ${attrs}/>`;
}

/** A round axis maximum at or above `value`: 1, 2, 2.5, 5 × 10^n. */
export function niceMax(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Rough width of 11 px text: enough to lay out a legend without measuring fonts. */
const CHAR_W = 6.2;

/** A swatch and a name per series from `x0`, wrapped onto more rows when the next would not fit. */
function legend(names: string[], x0: number): { elements: string[]; height: number } {
  const elements: string[] = [];
  let lx = x0;
  let row = 0;
  names.forEach((name, i) => {
    const w = 17 + name.length * CHAR_W + 24;
    if (lx > x0 && lx + w > WIDTH - 10) {
      lx = x0;
      row += 1;
    }
    const y = TITLE_H + row * 18;
    elements.push(`<rect x="${lx.toFixed(1)}" y="${y - 2}" width="12" height="12" fill="${SERIES_COLORS[i % SERIES_COLORS.length]}"/>`);
    elements.push(text(lx + 17, y + 8, name, 'font-size="11"'));
    lx += w;
  });
  return { elements, height: (row + 1) * 18 };
}

/** Vertical grid lines at the ticks of a horizontal value axis, their labels, and the unit under them. */
function valueAxis(max: number, x: (v: number) => number, top: number, bottom: number, unitX: number, unit: string): string[] {
  const out: string[] = [];
  for (const t of ticks(max)) {
    out.push(line(x(t), top, x(t), bottom, COLORS.grid));
    out.push(text(x(t), bottom + 16, tickLabel(t), 'text-anchor="middle" font-size="11"'));
  }
  out.push(text(unitX, bottom + 34, unit, 'text-anchor="middle" font-size="11"'));
  return out;
}

function ticks(max: number): number[] {
  const step = max / 5;
  return Array.from({ length: 6 }, (_, i) => i * step);
}

function tickLabel(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 2 : 1);
}

/** Horizontal bars with an x axis in `unit`; `reference` draws a dashed line (e.g. 1× = raw). */
export function barChart(options: { title: string; unit: string; bars: Bar[]; reference?: { value: number; label: string } }): string {
  const { bars } = options;
  const labelW = 330;
  const plotW = WIDTH - labelW - 70;
  const top = TITLE_H + 6;
  const height = top + bars.length * ROW + 44;
  const finite = bars.map((b) => (Number.isFinite(b.value) ? b.value : 0));
  const max = niceMax(Math.max(...finite, ...bars.map((b) => b.aim ?? 0), options.reference?.value ?? 0));
  const x = (v: number) => labelW + (Math.max(0, v) / max) * plotW;
  const body = [text(12, 22, options.title, 'font-size="15" font-weight="600"')];
  const bottom = top + bars.length * ROW;
  body.push(...valueAxis(max, x, top, bottom, labelW + plotW / 2, options.unit));
  bars.forEach((bar, i) => {
    const y = top + i * ROW;
    const color = bar.met === undefined ? COLORS.neutral : bar.met ? COLORS.met : COLORS.missed;
    body.push(text(labelW - 8, y + 15, bar.label, 'text-anchor="end"'));
    if (Number.isFinite(bar.value)) {
      body.push(`<rect x="${labelW}" y="${y + 4}" width="${(x(bar.value) - labelW).toFixed(1)}" height="${ROW - 8}" fill="${color}"/>`);
    }
    body.push(
      text(
        x(Number.isFinite(bar.value) ? bar.value : 0) + 5,
        y + 15,
        bar.text ?? tickLabel(Number(bar.value.toFixed(2))),
        'font-size="11"',
      ),
    );
    if (bar.aim !== undefined) {
      body.push(line(x(bar.aim), y + 1, x(bar.aim), y + ROW - 1, COLORS.text, 'stroke-width="2"'));
    }
  });
  if (options.reference) {
    const rx = x(options.reference.value);
    body.push(line(rx, top - 4, rx, bottom, COLORS.axis, 'stroke-dasharray="4 3" stroke-width="1.5"'));
    body.push(text(rx, top - 7, options.reference.label, 'text-anchor="middle" font-size="11"'));
  }
  return svg(height, body);
}

/** Horizontal bars grouped per category, one colour per series, with a legend. */
export function groupedBarChart(options: { title: string; unit: string; categories: string[]; series: Series[] }): string {
  const { categories, series } = options;
  const labelW = 250;
  const plotW = WIDTH - labelW - 70;
  const barH = 12;
  const groupH = series.length * barH + 10;
  const key = legend(
    series.map((s) => s.name),
    labelW,
  );
  const top = TITLE_H + key.height + 8;
  const bottom = top + categories.length * groupH;
  const height = bottom + 44;
  const max = niceMax(Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite))));
  const x = (v: number) => labelW + (Math.max(0, v) / max) * plotW;
  const body = [text(12, 22, options.title, 'font-size="15" font-weight="600"')];
  body.push(...key.elements);
  body.push(...valueAxis(max, x, top, bottom, labelW + plotW / 2, options.unit));
  categories.forEach((category, c) => {
    const y = top + c * groupH;
    body.push(text(labelW - 8, y + groupH / 2 + 3, category, 'text-anchor="end"'));
    series.forEach((s, i) => {
      const value = s.values[c] ?? Number.NaN;
      const by = y + 5 + i * barH;
      if (Number.isFinite(value)) {
        body.push(
          `<rect x="${labelW}" y="${by}" width="${(x(value) - labelW).toFixed(1)}" height="${barH - 2}" fill="${SERIES_COLORS[i % SERIES_COLORS.length]}"/>`,
        );
      }
      body.push(
        text(
          x(Number.isFinite(value) ? value : 0) + 4,
          by + 9,
          Number.isFinite(value) ? tickLabel(Number(value.toFixed(1))) : '–',
          'font-size="10"',
        ),
      );
    });
  });
  return svg(height, body);
}

/**
 * Latency percentile curves: x is the number of nines (−log10(1 − p)), so p50, p90,
 * p99 and p99.9 are equally spaced and the tail gets the room it needs; the maximum is
 * drawn one step past the last percentile.
 */
export function percentileChart(options: { title: string; series: CurveSeries[] }): string {
  const left = 64;
  const plotW = WIDTH - left - 30;
  const key = legend(
    options.series.map((s) => s.name),
    left,
  );
  const top = TITLE_H + key.height + 10;
  const plotH = 250;
  const bottom = top + plotH;
  const height = bottom + 48;
  const finite = options.series.flatMap((s) => s.points.filter(([p]) => p < 100));
  const lastNines = Math.max(2, ...finite.map(([p]) => nines(p)));
  const maxX = lastNines + 0.5;
  const maxY = niceMax(Math.max(...options.series.flatMap((s) => s.points.map(([, ms]) => ms))));
  const px = (p: number) => left + ((p >= 100 ? maxX : nines(p)) / maxX) * plotW;
  const py = (ms: number) => bottom - (ms / maxY) * plotH;
  const body = [text(12, 22, options.title, 'font-size="15" font-weight="600"')];
  body.push(...key.elements);
  for (const t of ticks(maxY)) {
    body.push(line(left, py(t), left + plotW, py(t), COLORS.grid));
    body.push(text(left - 6, py(t) + 4, tickLabel(t), 'text-anchor="end" font-size="11"'));
  }
  const xTicks: [number, string][] = [
    [0, 'min'],
    [50, 'p50'],
    [90, 'p90'],
    [99, 'p99'],
    [99.9, 'p99.9'],
    [100, 'max'],
  ];
  for (const [p, label] of xTicks) {
    if (p < 100 && p > 0 && nines(p) > lastNines + 1e-9) continue;
    body.push(line(px(p), top, px(p), bottom, COLORS.grid));
    body.push(text(px(p), bottom + 16, label, 'text-anchor="middle" font-size="11"'));
  }
  body.push(text(left - 44, top + plotH / 2, 'ms', 'font-size="11"'));
  body.push(text(left + plotW / 2, bottom + 36, 'percentile (log scale of nines)', 'text-anchor="middle" font-size="11"'));
  options.series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length]!;
    const points = s.points.map(([p, ms]) => `${px(p).toFixed(1)},${py(ms).toFixed(1)}`).join(' ');
    body.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [p, ms] of s.points) body.push(`<circle cx="${px(p).toFixed(1)}" cy="${py(ms).toFixed(1)}" r="2.5" fill="${color}"/>`);
  });
  return svg(height, body);
}

function nines(p: number): number {
  return -Math.log10(1 - Math.min(p, 99.99) / 100);
}

export interface XySeries {
  name: string;
  /** [x, y], both > 0; drawn on log axes. */
  points: [number, number][];
}

/**
 * Lines on log–log axes (decades on both), for quantities spanning orders of magnitude
 * such as $ per GiB against batch size; `references` draw dashed horizontal lines.
 */
export function logLogChart(options: {
  title: string;
  xUnit: string;
  yUnit: string;
  series: XySeries[];
  xLabel?: (x: number) => string;
  yLabel?: (y: number) => string;
  references?: { value: number; label: string }[];
}): string {
  const left = 80;
  const plotW = WIDTH - left - 40;
  const plotH = 300;
  const key = legend(
    options.series.map((s) => s.name),
    left,
  );
  const top = TITLE_H + key.height + 8;
  const bottom = top + plotH;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...options.series.flatMap((s) => s.points.map((p) => p[1])), ...(options.references ?? []).map((r) => r.value)].filter(
    (y) => y > 0,
  );
  const [x0, x1] = [Math.floor(Math.log10(Math.min(...xs))), Math.ceil(Math.log10(Math.max(...xs)))];
  const [y0, y1] = [Math.floor(Math.log10(Math.min(...ys))), Math.ceil(Math.log10(Math.max(...ys)))];
  const x = (v: number) => left + ((Math.log10(v) - x0) / Math.max(1e-9, x1 - x0)) * plotW;
  const y = (v: number) => bottom - ((Math.log10(v) - y0) / Math.max(1e-9, y1 - y0)) * plotH;
  const body = [text(12, 22, options.title, 'font-size="15" font-weight="600"'), ...key.elements];
  for (let d = y0; d <= y1; d++) {
    body.push(line(left, y(10 ** d), left + plotW, y(10 ** d), COLORS.grid));
    body.push(
      text(left - 6, y(10 ** d) + 4, options.yLabel ? options.yLabel(10 ** d) : String(10 ** d), 'text-anchor="end" font-size="11"'),
    );
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const t of xTicks) {
    body.push(line(x(t), top, x(t), bottom, COLORS.grid));
    body.push(text(x(t), bottom + 16, options.xLabel ? options.xLabel(t) : String(t), 'text-anchor="middle" font-size="11"'));
  }
  body.push(text(left + plotW / 2, bottom + 34, options.xUnit, 'text-anchor="middle" font-size="11"'));
  body.push(
    text(
      14,
      top + plotH / 2,
      options.yUnit,
      `text-anchor="middle" font-size="11" transform="rotate(-90 14 ${(top + plotH / 2).toFixed(1)})"`,
    ),
  );
  for (const r of options.references ?? []) {
    body.push(line(left, y(r.value), left + plotW, y(r.value), COLORS.axis, 'stroke-dasharray="4 3" stroke-width="1.5"'));
    body.push(text(left + plotW - 4, y(r.value) - 4, r.label, 'text-anchor="end" font-size="11"'));
  }
  options.series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    const path = s.points.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    body.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [px, py] of s.points) body.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${color}"/>`);
  });
  return svg(bottom + 44, body);
}
