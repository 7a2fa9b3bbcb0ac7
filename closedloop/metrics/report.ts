/**
 * The closed-loop report: a metric table per decoder/block, per-target tables, and per-target
 * trajectory plots (SVG, workspace coordinates), as one self-contained HTML page.
 */
import { htmlPage, type Section } from '../../report/html.js';
import { PALETTE, axes, esc, fmt, frame, linearScale, niceTicks, pathThrough, r, svgDocument, text } from '../../report/svg.js';
import type { BlockMetrics, Stat, Summary } from './block.js';
import type { TrialRecord } from './trial.js';

export interface ReportBlock {
  metrics: BlockMetrics;
  records: readonly TrialRecord[];
}

function grid(headers: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null): string => esc(v === null ? '—' : typeof v === 'number' ? fmt(v) : v);
  return `<table><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((row) => `<tr>${row.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`).join('')}</table>`;
}

const med = (s: Stat): number | null => s.median;
const COLUMNS = ['trials', 'success rate', 'time to target s', 'dial-in s', 'path efficiency', 'exits', 'overshoot', 'orbit turns', 'throughput bit/s'];
function summaryRow(s: Summary): (number | null)[] {
  const st = s.stats;
  return [s.trials, s.successRate, med(st.timeToTarget), med(st.dialIn), med(st.pathEfficiency), st.exits.mean, med(st.overshoot), med(st.orbit), st.throughput.mean];
}

export function targetName(index: number): string {
  return index === -1 ? 'centre' : index === -2 ? 'random' : `target ${index}`;
}

/** One plot of every trial to one target: successes in blue, failures in orange, the target drawn. */
export function trajectoryPlot(title: string, records: readonly TrialRecord[], halfWidth: number): string {
  const f = frame(260, 260, { top: 24, right: 10, bottom: 36, left: 44 });
  const sx = linearScale(-halfWidth, halfWidth, f.left, f.right);
  const sy = linearScale(-halfWidth, halfWidth, f.bottom, f.top);
  const ticks = niceTicks(-halfWidth, halfWidth, 4);
  const parts = [axes(f, sx, sy, ticks, ticks, 'x', 'y')];
  const seen = new Set<string>();
  for (const rec of records) {
    const k = `${rec.target.x},${rec.target.y},${rec.target.radius}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const rad = Math.abs(sx(rec.target.radius) - sx(0));
    parts.push(`<circle cx="${r(sx(rec.target.x))}" cy="${r(sy(rec.target.y))}" r="${r(rad)}" fill="#009e73" fill-opacity="0.25" stroke="#009e73"/>`);
  }
  for (const rec of records) parts.push(pathThrough(rec.x, rec.y, sx, sy, `stroke="${rec.outcome === 'success' ? PALETTE[0] : PALETTE[1]}" stroke-width="1" stroke-opacity="0.7"`));
  parts.push(text(f.left, 14, title, 'font-weight="bold"'));
  return svgDocument(f, title, parts.join(''));
}

/**
 * The plots' half-width: the furthest any cursor sample or target edge lies from the centre (at
 * least 1). A loop, not Math.max(...values): an hour's block has several hundred thousand
 * samples, more arguments than a call's stack holds.
 */
export function trajectoryHalfWidth(blocks: readonly ReportBlock[]): number {
  let w = 1;
  for (const b of blocks) {
    for (const t of b.records) {
      w = Math.max(w, Math.abs(t.target.x) + t.target.radius, Math.abs(t.target.y) + t.target.radius);
      for (let i = 0; i < t.x.length; i++) {
        const ax = Math.abs(t.x[i]), ay = Math.abs(t.y[i]);
        if (ax > w) w = ax;
        if (ay > w) w = ay;
      }
    }
  }
  return w;
}

/** The tables and plots of metricsReportHtml as sections, for a page that shows more (the replay report). */
export function metricsSections(blocks: readonly ReportBlock[], opts: { halfWidth?: number; heading?: string } = {}): Section[] {
  const w = opts.halfWidth ?? trajectoryHalfWidth(blocks);
  const pre = opts.heading ? `${opts.heading}: ` : '';
  const sections: Section[] = [{
    heading: `${pre ? `${pre}per` : 'Per'} decoder / block (medians; exits and throughput are means)`,
    html: grid(['block', ...COLUMNS], blocks.map((b) => [b.metrics.label, ...summaryRow(b.metrics.block)])),
  }];
  for (const b of blocks) {
    const m = b.metrics;
    const plots = m.perTarget.map((p) => trajectoryPlot(`${targetName(p.target)} (${p.successes}/${p.trials})`, b.records.filter((t) => t.target.index === p.target), w));
    sections.push({
      heading: `${pre}${m.label}: per target`,
      html: grid(['target', ...COLUMNS], m.perTarget.map((p) => [targetName(p.target), ...summaryRow(p)])) + `\n<div>${plots.join('\n')}</div>`,
    });
  }
  return sections;
}

export const METRICS_FOOTER = 'time to target: onset to the start of the successful hold; dial-in: first entry to that; path efficiency: straight ÷ travelled until the first entry; overshoot: furthest beyond the edge after the first entry; orbit: turns around the target while outside it; throughput: log2(D/W + 1) ÷ time to target.';

/** opts.lead: sections before the tables (e.g. a benchmark's verdicts). opts.halfWidth: the plots' (default trajectoryHalfWidth). */
export function metricsReportHtml(title: string, blocks: readonly ReportBlock[], opts: { halfWidth?: number; lead?: Section[] } = {}): string {
  return htmlPage(title, [...(opts.lead ?? []), ...metricsSections(blocks, opts)], METRICS_FOOTER);
}
