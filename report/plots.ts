/**
 * Plots as pure functions from data to an SVG string: a line plot (several series, optional
 * reference lines, min/max decimation for long series) and the bars of a Histogram
 * (daemon/histogram.ts, the project's one histogram) on a log axis (latency distributions span decades).
 */
import { PALETTE, axes, esc, extent, fmt, frame, legend, line, linearScale, logScale, logTicks, niceTicks, pathThrough, svgDocument, text } from './svg.js';

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  dashed?: boolean;
}

export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  logY?: boolean;
  /** Horizontal reference lines, e.g. a deadline. */
  hLines?: { y: number; label: string }[];
  /** Longest series drawn point for point; longer ones keep the min and max of each bucket. */
  maxPoints?: number;
}

/**
 * Keeps the first, min and max of each of `buckets` consecutive runs, in order, so spikes in a
 * long latency trace survive the reduction (averaging would hide exactly what matters).
 */
export function decimate(x: ArrayLike<number>, y: ArrayLike<number>, maxPoints: number): { x: number[]; y: number[] } {
  const n = Math.min(x.length, y.length);
  const ox: number[] = [];
  const oy: number[] = [];
  if (n <= maxPoints) {
    for (let i = 0; i < n; i++) ox.push(x[i]), oy.push(y[i]);
    return { x: ox, y: oy };
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  for (let b = 0; b < buckets; b++) {
    const i0 = Math.floor((b * n) / buckets);
    const i1 = Math.floor(((b + 1) * n) / buckets);
    let iMin = -1;
    let iMax = -1;
    for (let i = i0; i < i1; i++) {
      if (!Number.isFinite(y[i])) continue;
      if (iMin < 0 || y[i] < y[iMin]) iMin = i;
      if (iMax < 0 || y[i] > y[iMax]) iMax = i;
    }
    if (iMin < 0) {
      ox.push(x[i0]), oy.push(NaN);
      continue;
    }
    const [a, c] = iMin <= iMax ? [iMin, iMax] : [iMax, iMin];
    ox.push(x[a]), oy.push(y[a]);
    if (c !== a) ox.push(x[c]), oy.push(y[c]);
  }
  return { x: ox, y: oy };
}

export function linePlot(o: LinePlotOptions): string {
  const f = frame(o.width ?? 720, o.height ?? 280);
  const maxPoints = o.maxPoints ?? 2000;
  const series = o.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length], ...decimate(s.x, s.y, maxPoints) }));
  const xs = extent(...series.map((s) => s.x));
  const ys = o.logY
    ? extent(...series.map((s) => s.y.filter((v) => v > 0)), (o.hLines ?? []).map((h) => h.y).filter((v) => v > 0))
    : extent(...series.map((s) => s.y), (o.hLines ?? []).map((h) => h.y));
  if (!xs || !ys) return emptyPlot(f, o.title, 'no data');
  const sx = linearScale(xs[0], xs[1], f.left, f.right);
  let sy;
  let yTicks;
  if (o.logY) {
    const lo = 10 ** Math.floor(Math.log10(ys[0]));
    const hi = 10 ** Math.ceil(Math.log10(ys[1]));
    sy = logScale(lo, hi, f.bottom, f.top);
    yTicks = logTicks(lo, hi);
  } else {
    yTicks = niceTicks(ys[0], ys[1], 5);
    const lo = Math.min(ys[0], yTicks[0]);
    const hi = Math.max(ys[1], yTicks[yTicks.length - 1]);
    sy = linearScale(lo, hi, f.bottom, f.top);
  }
  const parts = [axes(f, sx, sy, niceTicks(xs[0], xs[1], 6), yTicks, o.xLabel, o.yLabel)];
  for (const h of o.hLines ?? []) {
    const y = sy(h.y);
    parts.push(line(f.left, y, f.right, y, 'stroke="#c00" stroke-dasharray="6 3"'), text(f.right - 4, y - 4, h.label, 'text-anchor="end" fill="#c00"'));
  }
  for (const s of series)
    parts.push(pathThrough(s.x, s.y, sx, sy, `stroke="${s.color}" stroke-width="1.2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}`));
  parts.push(legend(f, series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed }))));
  parts.push(text(f.right, 14, o.title, 'text-anchor="end" font-weight="bold"'));
  return svgDocument(f, o.title, parts.join(''));
}

export interface HistogramPlotOptions {
  title: string;
  xLabel: string;
  /**
   * The bars: a Histogram's buckets (daemon/histogram.ts), each holding the integers lo…hi. Give
   * the histogram a coarse layout (subBucketBits 4: 8 bars per doubling, each 6–12 % wide).
   */
  buckets: readonly { lo: number; hi: number; count: number }[];
  /** Recorded units per plotted unit (1e6 for a histogram of ns plotted in ms). */
  scale?: number;
  width?: number;
  height?: number;
  /** Counts on a log axis too, so the rare tail stays visible next to the bulk. */
  logCounts?: boolean;
  /** Vertical markers, e.g. p50, p99, deadline, in plotted units. */
  markers?: { x: number; label: string; color?: string }[];
}

/** Bars of a log-linear histogram on a log x axis; buckets at or below 0 are left out. */
export function histogramPlot(o: HistogramPlotOptions): string {
  const f = frame(o.width ?? 720, o.height ?? 280);
  const scale = o.scale ?? 1;
  const bars = o.buckets.filter((b) => b.count > 0 && b.hi >= 1).map((b) => ({ x0: Math.max(b.lo, 0.5) / scale, x1: (b.hi + 1) / scale, count: b.count }));
  if (bars.length === 0) return emptyPlot(f, o.title, 'no positive values');
  const h = { edges: [bars[0].x0, bars[bars.length - 1].x1] };
  const lo = 10 ** Math.floor(Math.log10(h.edges[0]));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(h.edges[h.edges.length - 1], ...(o.markers ?? []).map((m) => m.x))));
  const sx = logScale(lo, hi, f.left, f.right);
  const maxCount = Math.max(...bars.map((b) => b.count));
  const logCounts = o.logCounts ?? true;
  const sy = logCounts ? logScale(0.5, 10 ** Math.ceil(Math.log10(maxCount + 1)), f.bottom, f.top) : linearScale(0, maxCount, f.bottom, f.top);
  const yTicks = logCounts ? logTicks(1, 10 ** Math.ceil(Math.log10(maxCount + 1))) : niceTicks(0, maxCount, 5);
  const parts = [axes(f, sx, sy, logTicks(lo, hi), yTicks, o.xLabel, logCounts ? 'count (log)' : 'count')];
  for (const b of bars) {
    const x0 = sx(b.x0);
    const x1 = sx(b.x1);
    const y = sy(b.count);
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.5, x1 - x0 - 0.5).toFixed(1)}" height="${(f.bottom - y).toFixed(1)}" fill="${PALETTE[0]}"><title>${esc(`${fmt(b.x0)}–${fmt(b.x1)}: ${b.count}`)}</title></rect>`);
  }
  (o.markers ?? []).forEach((m, i) => {
    const x = sx(m.x);
    const color = m.color ?? PALETTE[(i + 1) % PALETTE.length];
    parts.push(line(x, f.top, x, f.bottom, `stroke="${color}" stroke-dasharray="5 3" stroke-width="1.5"`));
    parts.push(text(x + 3, f.top + 12 + 12 * i, m.label, `fill="${color}"`));
  });
  parts.push(text(f.right, 14, o.title, 'text-anchor="end" font-weight="bold"'));
  return svgDocument(f, o.title, parts.join(''));
}

function emptyPlot(f: ReturnType<typeof frame>, title: string, why: string): string {
  return svgDocument(f, title, text(f.right, 14, title, 'text-anchor="end" font-weight="bold"') +
    text((f.left + f.right) / 2, (f.top + f.bottom) / 2, why, 'text-anchor="middle" fill="#888"'));
}
