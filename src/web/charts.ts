// Charts drawn on the server as inline SVG (no chart library, nothing fetched, no inline styles so
// the CSP stays strict). Each chart carries its numbers as text too, for screen readers and phones.
import { html, type Html } from './html.ts';

export const COLORS = {
  recovered: '#1a7f37',
  lost: '#c62828',
  open: '#9a6700',
  failed: '#9a6700',
  neutral: '#6e7781',
  grid: '#d4d8de',
  text: '#3d444d',
} as const;

export const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)}%` : '—');

/** A small legend swatch. */
export function swatch(color: string): Html {
  return html`<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false"><rect width="12" height="12" rx="2" fill="${color}"/></svg>`;
}

/** One 100%-wide stacked bar (segments in proportion), drawn at the width of its table cell. */
export function stackedBar(segments: { value: number; color: string; label: string }[]): Html {
  const total = segments.reduce((a, s) => a + s.value, 0);
  let x = 0;
  const rects = segments
    .filter((s) => s.value > 0)
    .map((s) => {
      const w = total > 0 ? (s.value / total) * 100 : 0;
      const r = html`<rect x="${x.toFixed(3)}" y="0" width="${w.toFixed(3)}" height="10" fill="${s.color}"><title>${s.label}: ${s.value}</title></rect>`;
      x += w;
      return r;
    });
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="18" aria-hidden="true" focusable="false"><rect width="100" height="10" fill="#eef0f3"/>${rects}</svg>`;
}

/** One bar for a rate (0..1). */
export function rateBar(rate: number | null, color: string = COLORS.recovered): Html {
  const w = rate === null ? 0 : Math.max(0, Math.min(1, rate)) * 100;
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="18" aria-hidden="true" focusable="false"><rect width="100" height="10" fill="#eef0f3"/><rect width="${w.toFixed(3)}" height="10" fill="${color}"/></svg>`;
}

export interface Series {
  name: string;
  color: string;
  values: number[];
}

/** Grouped columns over time (e.g. weeks), with a y axis of whole numbers. */
export function columnChart(opts: { id: string; title: string; description: string; labels: string[]; series: Series[] }): Html {
  const W = 520;
  const H = 230;
  const left = 34;
  const right = 8;
  const top = 12;
  const bottom = 40;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const max = Math.max(1, ...opts.series.flatMap((s) => s.values));
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const n = opts.labels.length;
  const groupW = plotW / Math.max(1, n);
  const barW = Math.max(2, (groupW * 0.8) / opts.series.length);
  const grid: Html[] = [];
  for (let v = 0; v <= yMax; v += step) {
    grid.push(
      html`<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${COLORS.grid}" stroke-width="1"/><text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="${COLORS.text}">${v}</text>`,
    );
  }
  const bars: Html[] = [];
  const labelEvery = n > 8 ? 2 : 1;
  opts.labels.forEach((label, i) => {
    const gx = left + i * groupW + groupW * 0.1;
    opts.series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (v / yMax) * plotH;
      bars.push(
        html`<rect x="${(gx + j * barW).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${label} — ${s.name}: ${v}</title></rect>`,
      );
    });
    if (i % labelEvery === 0)
      bars.push(html`<text x="${(left + i * groupW + groupW / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle" font-size="11" fill="${COLORS.text}">${label}</text>`);
  });
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${opts.id}-t ${opts.id}-d" focusable="false">
<title id="${opts.id}-t">${opts.title}</title><desc id="${opts.id}-d">${opts.description}</desc>
${grid}<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="${COLORS.text}" stroke-width="1"/>${bars}
</svg>
<ul class="legend">${opts.series.map((s) => html`<li>${swatch(s.color)}${s.name}</li>`)}</ul>
</figure>`;
}

function niceStep(max: number): number {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return Math.max(1, m * mag);
  return Math.max(1, 10 * mag);
}
