/**
 * A calibration dataset from an XDF recording: the spike-count stream, the behaviour stream's
 * velocity (and position, for the Kalman baseline) channels aligned to each bin by timestamp,
 * and, for simulated sessions, the true log-rates. Alignment never silently drops data: every
 * dropped or unlabelled bin is counted in `notes`.
 */
import { binMs as streamBinMs, channelLabels } from '../streams/stream-info.js';
import { readXdf, type XdfFile, type XdfStream } from '../streams/xdf/reader.js';
import { childText, path } from '../streams/xml.js';
import { CalibrationError } from './errors.js';
import { mat, type Mat } from './linear.js';

export interface Dataset {
  /** Spike counts [bins × N_in]. */
  counts: Mat;
  /** Velocity [bins × K]; rows where labelled[i] is false hold zeros. */
  velocity: Mat;
  /** Position [bins × K'] when the behaviour stream has pos_* channels (Kalman state), else null. */
  position: Mat | null;
  /** Whether bin i has usable (finite, aligned) behaviour. */
  labelled: boolean[];
  timestamps: Float64Array;
  /** True log-rates [bins × N] for simulated sessions, else null. */
  trueLogRates: Mat | null;
  binMs: number;
  channelLabels: string[];
  velocityLabels: string[];
  positionLabels: string[];
  spikeStream: string;
  behaviourStream: string;
  /** What alignment dropped or could not label, for the user. */
  notes: string[];
}

export interface DatasetOptions {
  /** Spike stream: name or type (default: type SpikeCounts). */
  spikes?: string;
  /** Behaviour stream: name or type (default: type Kinematics). */
  behaviour?: string;
  /** Velocity channels: comma-separated labels or glob patterns (default "vel_*"). */
  velocityChannels?: string;
  /** Override the bin width (ms) when the stream does not state it. */
  binMs?: number;
}

const glob = (pat: string): RegExp => new RegExp('^' + pat.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');

function pickStream(file: XdfFile, want: string | undefined, defType: string, role: string): XdfStream {
  const key = want ?? defType;
  const byName = file.streams.filter((s) => s.info.name === key);
  const byType = file.streams.filter((s) => s.info.type === key);
  const hits = byName.length > 0 ? byName : byType;
  const list = file.streams.map((s) => `"${s.info.name}" (type ${s.info.type})`).join(', ') || 'none';
  if (hits.length === 0) throw new CalibrationError('ENOSTREAM', `recording has no ${role} stream named or typed "${key}"; streams: ${list}${want ? '' : ` (choose one with --${role === 'spike' ? 'spikes' : 'behaviour'})`}`);
  if (hits.length > 1) throw new CalibrationError('ENOSTREAM', `recording has ${hits.length} ${role} streams matching "${key}"; name one of: ${hits.map((s) => `"${s.info.name}"`).join(', ')}`);
  return hits[0];
}

function numericRows(s: XdfStream, role: string): { data: ArrayLike<number>; n: number; c: number } {
  if (Array.isArray(s.data)) throw new CalibrationError('EBADDATA', `${role} stream "${s.info.name}" has string samples, not numbers`);
  const c = s.info.channelCount;
  const data = s.data as ArrayLike<number> & { BYTES_PER_ELEMENT?: number };
  if (typeof (data as unknown as BigInt64Array)[0] === 'bigint') throw new CalibrationError('EBADDATA', `${role} stream "${s.info.name}" is int64; not supported`);
  return { data, n: s.timeStamps.length, c };
}

/** Index of the sample nearest to time t in sorted ts, or -1 when none is within tol. */
function nearest(ts: Float64Array, t: number, tol: number, hint: number): number {
  let i = Math.max(0, Math.min(hint, ts.length - 1));
  while (i + 1 < ts.length && ts[i + 1] <= t) i++;
  while (i > 0 && ts[i] > t) i--;
  let best = i;
  if (i + 1 < ts.length && Math.abs(ts[i + 1] - t) < Math.abs(ts[i] - t)) best = i + 1;
  return ts.length > 0 && Math.abs(ts[best] - t) <= tol ? best : -1;
}

export function loadDataset(path: string, opts: DatasetOptions = {}): Dataset {
  let file: XdfFile;
  try {
    file = readXdf(path, { syncClocks: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new CalibrationError('EBADDATA', `cannot read recording ${path}: ${err.message}`);
  }
  return datasetFromXdf(file, opts, path);
}

export function datasetFromXdf(file: XdfFile, opts: DatasetOptions = {}, source = 'recording'): Dataset {
  const notes: string[] = [...file.warnings.map((w) => `reader: ${w}`)];
  const sp = pickStream(file, opts.spikes, 'SpikeCounts', 'spike');
  const bh = pickStream(file, opts.behaviour, 'Kinematics', 'behaviour');
  const binMs = opts.binMs ?? streamBinMs(sp.info);
  if (!binMs || !(binMs > 0)) throw new CalibrationError('EBADDATA', `spike stream "${sp.info.name}" states no bin width (no <desc><binning><bin_ms> and no nominal rate); give --bin-ms`);
  const S = numericRows(sp, 'spike');
  const Bh = numericRows(bh, 'behaviour');
  if (S.n === 0) throw new CalibrationError('ETOOSHORT', `spike stream "${sp.info.name}" has no samples`);
  if (Bh.n === 0) throw new CalibrationError('ETOOSHORT', `behaviour stream "${bh.info.name}" has no samples`);
  const bhLabels = channelLabels(bh.info) ?? Array.from({ length: Bh.c }, (_, i) => `ch${i}`);
  const pats = (opts.velocityChannels ?? 'vel_*').split(',').map((s) => s.trim()).filter(Boolean);
  const velIdx: number[] = [];
  for (const p of pats) {
    const re = glob(p);
    for (let i = 0; i < bhLabels.length; i++) if (re.test(bhLabels[i]) && !velIdx.includes(i)) velIdx.push(i);
  }
  if (velIdx.length === 0) throw new CalibrationError('ENOCHANNEL', `behaviour stream "${bh.info.name}" has no channel matching ${pats.join(', ')}; its channels: ${bhLabels.join(', ')} (choose with --velocity-channels)`);
  const posIdx = bhLabels.map((l, i) => [l, i] as const).filter(([l]) => /^pos/i.test(l)).map(([, i]) => i);

  // Behaviour stream sorted by time (clock-synchronised timestamps are monotonic in practice).
  const bts = bh.timeStamps;
  for (let i = 1; i < bts.length; i++) if (!(bts[i] >= bts[i - 1])) throw new CalibrationError('EALIGN', `behaviour stream "${bh.info.name}" timestamps go backwards at sample ${i}`);
  const sts = sp.timeStamps;
  const tol = binMs / 2000;
  // Spike bins before the first / after the last behaviour sample are trimmed.
  let first = 0;
  while (first < S.n && sts[first] < bts[0] - tol) first++;
  let last = S.n;
  while (last > first && sts[last - 1] > bts[bts.length - 1] + tol) last--;
  if (last <= first) throw new CalibrationError('EALIGN', `spike stream (${sts[0].toFixed(3)}…${sts[S.n - 1].toFixed(3)} s) and behaviour stream (${bts[0].toFixed(3)}…${bts[bts.length - 1].toFixed(3)} s) do not overlap in time`);
  if (first > 0) notes.push(`dropped ${first} spike bins before the behaviour stream starts`);
  if (last < S.n) notes.push(`dropped ${S.n - last} spike bins after the behaviour stream ends`);

  const n = last - first;
  const N = S.c;
  const K = velIdx.length;
  const counts = new Float32Array(n * N);
  const velocity = new Float32Array(n * K);
  const position = posIdx.length > 0 ? new Float32Array(n * posIdx.length) : null;
  const labelled: boolean[] = new Array(n).fill(false);
  let unmatched = 0;
  let nonFinite = 0;
  let hint = 0;
  for (let i = 0; i < n; i++) {
    const si = first + i;
    for (let c = 0; c < N; c++) {
      const v = Number(S.data[si * N + c]);
      if (!Number.isFinite(v) || v < 0) throw new CalibrationError('EBADDATA', `spike stream "${sp.info.name}" sample ${si} channel ${c} is ${v}; counts must be finite and ≥ 0`);
      counts[i * N + c] = v;
    }
    const j = nearest(bts, sts[si], tol, hint);
    if (j < 0) { unmatched++; continue; }
    hint = j;
    let ok = true;
    for (let k = 0; k < K; k++) {
      const v = Number(Bh.data[j * Bh.c + velIdx[k]]);
      if (!Number.isFinite(v)) ok = false;
      velocity[i * K + k] = v;
    }
    if (position) for (let k = 0; k < posIdx.length; k++) {
      const v = Number(Bh.data[j * Bh.c + posIdx[k]]);
      if (!Number.isFinite(v)) ok = false;
      position[i * posIdx.length + k] = v;
    }
    if (!ok) {
      nonFinite++;
      for (let k = 0; k < K; k++) velocity[i * K + k] = 0;
      if (position) for (let k = 0; k < posIdx.length; k++) position[i * posIdx.length + k] = 0;
      continue;
    }
    labelled[i] = true;
  }
  if (unmatched > 0) notes.push(`${unmatched} spike bins have no behaviour sample within ±${(tol * 1000).toFixed(1)} ms: kept as input, left out of readout fits and scores`);
  if (nonFinite > 0) notes.push(`${nonFinite} spike bins have NaN/∞ behaviour: kept as input, left out of readout fits and scores`);
  if (Bh.n > n + unmatched) notes.push(`behaviour stream has ${Bh.n} samples for ${n} spike bins (extra samples unused)`);

  let trueLogRates: Mat | null = null;
  const gt = file.streams.find((s) => s.info.type === 'GroundTruthLogRates');
  if (gt && !Array.isArray(gt.data)) {
    const G = numericRows(gt, 'ground truth');
    const out = new Float32Array(n * G.c);
    // The model's log-rates are per bin; the simulator states log(Hz).
    const unit = path(gt.info.desc, 'channels')?.children[0] ? childText(path(gt.info.desc, 'channels')!.children[0], 'unit') : undefined;
    const shift = unit && /hz/i.test(unit) ? Math.log(binMs / 1000) : 0;
    let ok = true;
    let h = 0;
    for (let i = 0; i < n && ok; i++) {
      const j = nearest(gt.timeStamps, sts[first + i], tol, h);
      if (j < 0) { ok = false; break; }
      h = j;
      for (let c = 0; c < G.c; c++) out[i * G.c + c] = Number(G.data[j * G.c + c]) + shift;
    }
    if (ok) trueLogRates = mat(out, n, G.c);
    else notes.push('ground-truth log-rate stream does not cover every bin; rate R² not computed');
  }
  const labels = channelLabels(sp.info) ?? Array.from({ length: N }, (_, i) => `ch${i}`);
  return {
    counts: mat(counts, n, N),
    velocity: mat(velocity, n, K),
    position: position ? mat(position, n, posIdx.length) : null,
    labelled,
    timestamps: sts.slice(first, last),
    trueLogRates,
    binMs,
    channelLabels: labels,
    velocityLabels: velIdx.map((i) => bhLabels[i]),
    positionLabels: posIdx.map((i) => bhLabels[i]),
    spikeStream: sp.info.name,
    behaviourStream: bh.info.name,
    notes,
  };
}
