/** The calibration report: an HTML page with SVG plots (report/ helpers). */
import { htmlPage, table } from '../report/html.js';
import { linePlot } from '../report/plots.js';
import type { Mat } from './linear.js';
import type { CalibrationMetrics } from './pipeline.js';
import type { EpochRecord } from './train.js';

export interface ReportData {
  title: string;
  metrics: CalibrationMetrics;
  history: EpochRecord[];
  binMs: number;
  velocityLabels: string[];
  truth: Mat;
  ours: Mat;
  wiener: Mat;
  kalman: Mat;
  counts: Mat;
  logRates: Mat;
  trueLogRates: Mat | null;
  notes: string[];
}

const col = (m: Mat, c: number, from: number, to: number): number[] => {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(m.data[i * m.cols + c]);
  return out;
};

export function reportHtml(r: ReportData): string {
  const m = r.metrics;
  const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x.toFixed(3));
  const sections = [];
  const rows: [string, string | number | null][] = [
    ['held-out bins', `${m.heldOut.bins} (${m.heldOut.fraction * 100}% at the end)`],
    ['velocity R² LangevinFlow (online filter)', `${fmt(m.velocityR2.langevin.mean)} (${m.velocityR2.langevin.perAxis.map(fmt).join(', ')})`],
    [`velocity R² Wiener (${m.velocityR2.wiener.lags} lags)`, `${fmt(m.velocityR2.wiener.mean)} (${m.velocityR2.wiener.perAxis.map(fmt).join(', ')})`],
    ['velocity R² Kalman', `${fmt(m.velocityR2.kalman.mean)} (${m.velocityR2.kalman.perAxis.map(fmt).join(', ')})`],
    ['bits per spike', fmt(m.bitsPerSpike)],
    ['rate R² vs truth', fmt(m.rateR2)],
    ['readout features', `[${m.readout.features.sources.join(', ')}] × ${m.readout.features.lags} lag(s), alpha ${m.readout.alpha}`],
    ['training', `${m.training.epochs} epochs, best ${m.training.bestEpoch}, stop: ${m.training.stopReason}, ${m.training.seconds.toFixed(0)} s, backend ${m.training.backend}`],
  ];
  sections.push({ heading: 'Summary', html: table(rows) });
  if (r.history.length > 0) {
    const ep = r.history.map((h) => h.epoch);
    sections.push({ heading: 'Training curves', html: linePlot({
      title: 'Poisson NLL per scored entry', xLabel: 'epoch', yLabel: 'NLL',
      series: [{ label: 'train (sampled, CD)', x: ep, y: r.history.map((h) => h.trainNll) }, { label: 'validation (means, CD)', x: ep, y: r.history.map((h) => h.valNll) }],
    }) });
  }
  const n = Math.min(r.truth.rows, Math.round(30000 / r.binMs)); // the first 30 s of the block
  const t = Array.from({ length: n }, (_, i) => (i * r.binMs) / 1000);
  r.velocityLabels.forEach((label, k) => {
    sections.push({ heading: `Decoded ${label}, held-out block (first ${Math.round(n * r.binMs / 1000)} s)`, html: linePlot({
      title: label, xLabel: 'time (s)', yLabel: label, series: [
        { label: 'true', x: t, y: col(r.truth, k, 0, n), color: '#222' },
        { label: 'LangevinFlow', x: t, y: col(r.ours, k, 0, n) },
        { label: 'Wiener', x: t, y: col(r.wiener, k, 0, n), dashed: true },
        { label: 'Kalman', x: t, y: col(r.kalman, k, 0, n), dashed: true },
      ] }) });
  });
  const chans = [0, 1, 2].filter((c) => c < r.logRates.cols);
  for (const c of chans) {
    const series = [
      { label: 'counts', x: t, y: col(r.counts, c, 0, n), color: '#bbb' },
      { label: 'inferred rate', x: t, y: col(r.logRates, c, 0, n).map(Math.exp) },
    ];
    if (r.trueLogRates) series.push({ label: 'true rate', x: t, y: col(r.trueLogRates, c, 0, n).map(Math.exp) });
    sections.push({ heading: `Example rates: channel ${c}`, html: linePlot({ title: `channel ${c}`, xLabel: 'time (s)', yLabel: 'spikes / bin', series }) });
  }
  if (r.notes.length > 0) sections.push({ heading: 'Notes', html: `<ul>${r.notes.map((x) => `<li>${x.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</li>`).join('')}</ul>` });
  return htmlPage(r.title, sections, `langevind calibrate, ${new Date().toISOString()}`);
}
