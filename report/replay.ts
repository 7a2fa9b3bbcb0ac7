/**
 * The replay report: end-to-end latency (send → receive of the matching Decoded), deadline
 * misses against the bin width, lost and duplicate bins, decoded against recorded velocity; as
 * a JSON object and as a self-contained HTML page with SVG plots.
 */
import { htmlPage, table, type Section } from './html.js';
import { histogramPlot, linePlot, type Series } from './plots.js';
import { jsonNum, roundSummary, rSquared, summarize, type Summary } from './stats.js';
import { Histogram } from '../daemon/histogram.js';

/** The plot's bars: latencies in ms recorded in ns into a coarse histogram (8 bars per doubling). */
function latencyBuckets(latMs: ArrayLike<number>): ReturnType<Histogram['buckets']> {
  const h = new Histogram({ subBucketBits: 4 });
  for (let i = 0; i < latMs.length; i++) if (Number.isFinite(latMs[i])) h.record(latMs[i] * 1e6);
  return h.buckets();
}

/** What was replayed, where to, and how many bins were sent: shared by the measurements and the report. */
export interface ReplayRun {
  recording: string;
  stream: string;
  channels: number;
  binMs: number;
  speed: number | 'max';
  to: string;
  from: string;
  modelId: string;
  sent: number;
}

/** What a replay measured, per seq (index = seq); NaN where nothing was received. */
export interface ReplayMeasurements extends ReplayRun {
  /** Monotonic ns of the replay process just before each send. */
  sendNs: Float64Array;
  /** Monotonic ns of the replay process when the Decoded arrived; NaN when lost. */
  recvNs: Float64Array;
  /** The daemon's own sent_ns − received_ns per bin (its processing time); NaN when lost. */
  daemonNs: Float64Array;
  duplicates: number;
  /** Decoded messages whose seq was never sent. */
  unexpected: number;
  /** Decoded velocity, sent × velocityAxes, NaN when lost. */
  velocity: Float32Array;
  velocityAxes: number;
  /** Recorded velocity aligned to the bins (sent × labels.length), when the recording has a Kinematics stream. */
  truth?: { labels: string[]; values: Float64Array };
}

export interface ReplayReport extends ReplayRun {
  received: number;
  lost: number;
  duplicates: number;
  unexpected: number;
  /** Received later than one bin width after sending. */
  late: number;
  /** Bins whose time inside the daemon (received → sent) alone exceeded the bin width. */
  daemonLate: number;
  deadlineMs: number;
  /** (late + lost) / sent: every bin that did not reach the client within its bin width. */
  deadlineMissFraction: number | null;
  durationS: number | null;
  /** Received bins per second from the first send to the last receive. */
  binsPerS: number | null;
  latencyMs: Record<keyof Summary, number | null>;
  /** The same without the first second of bins (the daemon's JIT warm-up), for steady-state figures. */
  latencyMsAfterFirstSecond: Record<keyof Summary, number | null>;
  daemonMs: Record<keyof Summary, number | null>;
  velocity: { labels: string[]; r2: Record<string, number | null>; r2Mean: number | null } | null;
  /** The first lost seqs (at most 20). */
  lostSeqs: number[];
}

export function latenciesMs(m: ReplayMeasurements): Float64Array {
  const out = new Float64Array(m.sent);
  for (let i = 0; i < m.sent; i++) out[i] = (m.recvNs[i] - m.sendNs[i]) / 1e6;
  return out;
}

/** Per axis: the decoded and the recorded velocity as separate columns (NaN where missing). */
function axisColumns(m: ReplayMeasurements, axis: number): { pred: Float64Array; truth: Float64Array } {
  const k = m.truth!.labels.length;
  const pred = new Float64Array(m.sent);
  const truth = new Float64Array(m.sent);
  for (let i = 0; i < m.sent; i++) {
    pred[i] = m.velocity[i * m.velocityAxes + axis];
    truth[i] = m.truth!.values[i * k + axis];
  }
  return { pred, truth };
}

export function buildReplayReport(m: ReplayMeasurements): ReplayReport {
  const lat = latenciesMs(m);
  let received = 0;
  let late = 0;
  let firstSend = Infinity;
  let lastRecv = -Infinity;
  const lostSeqs: number[] = [];
  for (let i = 0; i < m.sent; i++) {
    if (Number.isFinite(m.sendNs[i])) firstSend = Math.min(firstSend, m.sendNs[i]);
    if (Number.isFinite(lat[i])) {
      received++;
      if (lat[i] > m.binMs) late++;
      lastRecv = Math.max(lastRecv, m.recvNs[i]);
    } else if (lostSeqs.length < 20) lostSeqs.push(i);
  }
  const lost = m.sent - received;
  const durationS = received > 0 ? (lastRecv - firstSend) / 1e9 : NaN;
  const daemonMs = Float64Array.from(m.daemonNs, (x) => x / 1e6);
  let daemonLate = 0;
  for (let i = 0; i < daemonMs.length; i++) if (daemonMs[i] > m.binMs) daemonLate++;
  let velocity: ReplayReport['velocity'] = null;
  if (m.truth && m.truth.labels.length === m.velocityAxes && m.sent > 0) {
    const r2: Record<string, number | null> = {};
    let sum = 0;
    m.truth.labels.forEach((label, a) => {
      const { pred, truth } = axisColumns(m, a);
      const v = rSquared(pred, truth);
      r2[label] = jsonNum(v, 4);
      sum += v;
    });
    velocity = { labels: m.truth.labels, r2, r2Mean: jsonNum(sum / m.truth.labels.length, 4) };
  }
  return {
    recording: m.recording,
    stream: m.stream,
    channels: m.channels,
    binMs: m.binMs,
    speed: m.speed,
    to: m.to,
    from: m.from,
    modelId: m.modelId,
    sent: m.sent,
    received,
    lost,
    duplicates: m.duplicates,
    unexpected: m.unexpected,
    late,
    daemonLate,
    deadlineMs: m.binMs,
    deadlineMissFraction: m.sent > 0 ? jsonNum((late + lost) / m.sent, 6) : null,
    durationS: jsonNum(durationS, 6),
    binsPerS: jsonNum(received / durationS, 6),
    latencyMs: roundSummary(summarize(lat)),
    latencyMsAfterFirstSecond: roundSummary(summarize(lat.subarray(Math.min(lat.length, Math.ceil(1000 / m.binMs))))),
    daemonMs: roundSummary(summarize(daemonMs)),
    velocity,
    lostSeqs,
  };
}

/** extra: sections after the replay's own (e.g. the recorded session's closed-loop metrics). */
export function replayReportHtml(m: ReplayMeasurements, r: ReplayReport, extra: readonly Section[] = []): string {
  const lat = latenciesMs(m);
  const t0 = m.sendNs[0];
  const tSec = Float64Array.from(m.sendNs, (x) => (x - t0) / 1e9);
  const L = r.latencyMs;
  const sections = [
    {
      heading: 'Summary',
      html: table([
        ['recording', `${r.recording} (stream "${r.stream}", ${r.channels} channels, ${r.binMs} ms bins)`],
        ['speed', r.speed === 'max' ? 'as fast as possible' : `${r.speed}×`],
        ['to → from', `${r.to} → ${r.from}`],
        ['model', r.modelId],
        ['bins sent / received', `${r.sent} / ${r.received}`],
        ['lost / duplicates / unexpected', `${r.lost} / ${r.duplicates} / ${r.unexpected}`],
        [`late (> ${r.deadlineMs} ms)`, r.late],
        [`late inside the daemon alone`, r.daemonLate],
        ['deadline-miss fraction (late + lost)', r.deadlineMissFraction],
        ['latency p50 / p99 / p99.9 / max (ms)', `${L.p50} / ${L.p99} / ${L.p999} / ${L.max}`],
        ['the same after the first second', `${r.latencyMsAfterFirstSecond.p50} / ${r.latencyMsAfterFirstSecond.p99} / ${r.latencyMsAfterFirstSecond.p999} / ${r.latencyMsAfterFirstSecond.max}`],
        ['daemon received→sent p50 / p99 / max (ms)', `${r.daemonMs.p50} / ${r.daemonMs.p99} / ${r.daemonMs.max}`],
        ['throughput (bins/s)', r.binsPerS],
        ...(r.velocity ? [['velocity R² (mean)', r.velocity.r2Mean] as [string, number | null]] : []),
      ]),
    },
    {
      heading: 'End-to-end latency distribution',
      html: histogramPlot({
        title: 'send → receive latency',
        xLabel: 'latency (ms, log scale)',
        buckets: latencyBuckets(lat),
        scale: 1e6,
        markers: [
          ...(L.p50 !== null ? [{ x: L.p50, label: `p50 ${L.p50} ms` }] : []),
          ...(L.p99 !== null ? [{ x: L.p99, label: `p99 ${L.p99} ms` }] : []),
          { x: r.deadlineMs, label: `deadline ${r.deadlineMs} ms`, color: '#c00' },
        ],
      }),
    },
    {
      heading: 'Latency over time',
      html: linePlot({
        title: 'latency per bin',
        xLabel: 'time since first send (s)',
        yLabel: 'latency (ms)',
        logY: true,
        series: [{ label: 'send → receive', x: tSec, y: lat }, { label: 'inside the daemon', x: tSec, y: Float64Array.from(m.daemonNs, (x) => x / 1e6) }],
        hLines: [{ y: r.deadlineMs, label: 'deadline (bin width)' }],
      }),
    },
  ];
  if (m.truth && r.velocity) {
    const binS = Float64Array.from({ length: m.sent }, (_, i) => (i * m.binMs) / 1000);
    const plots = r.velocity.labels.map((label, a) => {
      const { pred, truth } = axisColumns(m, a);
      const series: Series[] = [
        { label: `recorded ${label}`, x: binS, y: truth, color: '#555' },
        { label: `decoded ${label}`, x: binS, y: pred },
      ];
      return linePlot({ title: `${label}: R² = ${r.velocity!.r2[label]}`, xLabel: 'recording time (s)', yLabel: label, series, maxPoints: 3000 });
    });
    sections.push({ heading: 'Decoded against recorded velocity', html: plots.join('\n') });
  }
  return htmlPage(`langevind replay: ${r.recording}`, [...sections, ...extra], `generated by langevind replay at ${new Date().toISOString()}`);
}
