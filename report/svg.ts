/**
 * Minimal SVG building blocks for self-contained reports: scales, ticks, escaping and the
 * document wrapper. Pure functions returning strings, so plots can be tested as text and
 * reused by any report (replay latency, calibration).
 */

export type Scale = (x: number) => number;

export interface Frame {
  width: number;
  height: number;
  /** Plot area inside the margins, in SVG user units. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The default palette: distinguishable in print and for the common colour-vision deficiencies. */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short numeric label: enough digits to tell ticks apart, no float noise. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(1).replace('e+', 'e');
  return String(Number(x.toPrecision(4)));
}

export function frame(width: number, height: number, margin = { top: 28, right: 16, bottom: 44, left: 60 }): Frame {
  return { width, height, left: margin.left, top: margin.top, right: width - margin.right, bottom: height - margin.bottom };
}

export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0 || 1;
  return (x) => r0 + ((x - d0) / span) * (r1 - r0);
}

/** Log10 scale; the domain must be positive (callers clamp values to the lower bound). */
export function logScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const l0 = Math.log10(d0);
  const span = Math.log10(d1) - l0 || 1;
  return (x) => r0 + ((Math.log10(Math.max(x, d0)) - l0) / span) * (r1 - r0);
}

/** About `count` round ticks (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Decade ticks (plus 2 and 5 when the range spans fewer than three decades) within [lo, hi], lo > 0. */
export function logTicks(lo: number, hi: number): number[] {
  const k0 = Math.floor(Math.log10(lo));
  const k1 = Math.ceil(Math.log10(hi));
  const mults = k1 - k0 < 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let k = k0; k <= k1; k++)
    for (const m of mults) {
      const t = Number((m * 10 ** k).toPrecision(12));
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
    }
  return ticks;
}

/** Domain [min, max] of finite values, padded when degenerate; undefined when there are none. */
export function extent(...arrays: ArrayLike<number>[]): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays)
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  if (lo > hi) return undefined;
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5];
  return [lo, hi];
}

export function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}"${attrs ? ' ' + attrs : ''}>${esc(s)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, attrs = ''): string {
  return `<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}"${attrs ? ' ' + attrs : ''}/>`;
}

/** One `<path>` through the points; NaN values break the line instead of drawing to zero. */
export function pathThrough(xs: ArrayLike<number>, ys: ArrayLike<number>, sx: Scale, sy: Scale, attrs = ''): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${r(sx(x))},${r(sy(y))}`;
    pen = true;
  }
  return d ? `<path d="${d}" fill="none"${attrs ? ' ' + attrs : ''}/>` : '';
}

/** Rounds coordinates to 0.1 unit: plenty for screens, and keeps long series small. */
export function r(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/** Axes with ticks, grid lines and labels around a frame. */
export function axes(f: Frame, sx: Scale, sy: Scale, xTicks: number[], yTicks: number[], xLabel: string, yLabel: string): string {
  const parts: string[] = [];
  for (const t of xTicks) {
    const x = sx(t);
    parts.push(line(x, f.top, x, f.bottom, 'stroke="#e5e5e5"'), text(x, f.bottom + 14, fmt(t), 'text-anchor="middle"'));
  }
  for (const t of yTicks) {
    const y = sy(t);
    parts.push(line(f.left, y, f.right, y, 'stroke="#e5e5e5"'), text(f.left - 6, y + 4, fmt(t), 'text-anchor="end"'));
  }
  parts.push(`<rect x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}" fill="none" stroke="#888"/>`);
  parts.push(text((f.left + f.right) / 2, f.height - 8, xLabel, 'text-anchor="middle"'));
  const cy = (f.top + f.bottom) / 2;
  parts.push(text(14, cy, yLabel, `text-anchor="middle" transform="rotate(-90 14 ${r(cy)})"`));
  return parts.join('');
}

export function legend(f: Frame, entries: { label: string; color: string; dashed?: boolean }[]): string {
  let x = f.left + 4;
  const y = f.top - 10;
  const parts: string[] = [];
  for (const e of entries) {
    parts.push(line(x, y - 4, x + 18, y - 4, `stroke="${e.color}" stroke-width="2"${e.dashed ? ' stroke-dasharray="4 3"' : ''}`));
    parts.push(text(x + 22, y, e.label));
    x += 30 + e.label.length * 6.5;
  }
  return parts.join('');
}

export function svgDocument(f: Frame, title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" ` +
    `font-family="sans-serif" font-size="11" role="img"><title>${esc(title)}</title>${body}</svg>`;
}
