/**
 * A closed-loop block read from an XDF recording, one row per spike bin: the counts, the decoded
 * velocity the cursor was driven with, the cursor and the target, and the task phase from the
 * markers. Streams are found by type (closedloop/streams.ts); cursor, target and decoded samples
 * are matched to a bin by timestamp (nearest within half a bin), so the task should stamp its
 * per-bin samples with the decode's timestamp, as the daemon's recorder stamps `langevind-decoded`.
 * A recording without what ReFIT needs is refused with a code naming what is missing.
 */
import { mat, type Mat } from '../../calibration/linear.js';
import { binMs as streamBinMs, channelLabels } from '../../streams/stream-info.js';
import type { XdfFile, XdfStream } from '../../streams/xdf/reader.js';
import { DECODED_STREAM, isTaskState, TASK_STREAMS } from '../streams.js';
import type { Phase } from './intention.js';

export type RecalibrateErrorCode =
  | 'ENOSPIKES' // no SpikeCounts stream
  | 'ENODECODED' // no decoded-velocity stream (langevind-decoded)
  | 'ENOMARKERS' // no task markers, or none that name a task state
  | 'ENOCURSOR' // no cursor stream
  | 'ENOTARGET' // no target stream
  | 'EBADRECORDING' // a stream is there but unusable (shape, format, nothing aligns)
  | 'EMODEL' // the model does not fit the recording
  | 'EUSAGE';

export class RecalibrateError extends Error {
  constructor(readonly code: RecalibrateErrorCode, message: string) {
    super(message);
    this.name = 'RecalibrateError';
  }
}

export interface ClosedLoopBlock {
  counts: Mat;
  /** Decoded velocity [T × K], NaN where no decode matched the bin. */
  decoded: Mat;
  decodedLabels: string[];
  cursor: Mat;
  /** [T × 3]: x, y, radius (NaN x, y while no target is shown). */
  target: Mat;
  phase: Phase[];
  timestamps: Float64Array;
  binMs: number;
  channels: number;
  /** Trials started (target_on markers). */
  trials: number;
  spikeStream: string;
  /** What alignment could not match, for the user. */
  notes: string[];
}

const STAMP_CHANNELS = new Set(['seq', 'received_ns', 'decoded_ns', 'sent_ns']);

function numeric(s: XdfStream, role: string): ArrayLike<number> {
  if (Array.isArray(s.data)) throw new RecalibrateError('EBADRECORDING', `${role} stream "${s.info.name}" holds strings, not numbers`);
  return s.data as ArrayLike<number>;
}

/** Sample index nearest to t in sorted ts within tol, or -1; hint.i carries the search on (t increasing). */
export function nearest(ts: Float64Array, t: number, tol: number, hint: { i: number }): number {
  let i = Math.max(0, Math.min(hint.i, ts.length - 1));
  while (i + 1 < ts.length && ts[i + 1] <= t) i++;
  while (i > 0 && ts[i] > t) i--;
  let best = i;
  if (i + 1 < ts.length && Math.abs(ts[i + 1] - t) < Math.abs(ts[i] - t)) best = i + 1;
  hint.i = i;
  return ts.length > 0 && Math.abs(ts[best] - t) <= tol ? best : -1;
}

export function closedLoopFromXdf(file: XdfFile): ClosedLoopBlock {
  const byType = (type: string, name?: string): XdfStream | undefined =>
    file.streams.find((s) => name !== undefined && s.info.name === name) ?? file.streams.find((s) => s.info.type === type);
  const spikes = byType('SpikeCounts');
  const decoded = byType(DECODED_STREAM.type, DECODED_STREAM.name);
  // Every string stream of type Markers: the daemon's recorder writes its own (langevind-markers:
  // swaps, resets) beside the task's, and only markers naming a task state count.
  const markerStreams = file.streams.filter((s) => (s.info.type === TASK_STREAMS.markers.type || s.info.name === TASK_STREAMS.markers.name) && Array.isArray(s.data));
  const markers = markerStreams[0];
  const cursor = byType(TASK_STREAMS.cursor.type, TASK_STREAMS.cursor.name);
  const target = byType(TASK_STREAMS.target.type, TASK_STREAMS.target.name);
  const missing: [RecalibrateErrorCode, string][] = [];
  if (!spikes) missing.push(['ENOSPIKES', 'spike counts (a stream of type SpikeCounts)']);
  if (!decoded) missing.push(['ENODECODED', `decoded velocity (stream "${DECODED_STREAM.name}", type ${DECODED_STREAM.type}, as \`langevind run --record\` writes it)`]);
  if (!markers) missing.push(['ENOMARKERS', `task markers (a string stream of type ${TASK_STREAMS.markers.type})`]);
  if (!cursor) missing.push(['ENOCURSOR', `the cursor (stream type ${TASK_STREAMS.cursor.type})`]);
  if (!target) missing.push(['ENOTARGET', `the target (stream type ${TASK_STREAMS.target.type})`]);
  if (missing.length > 0) {
    const have = file.streams.map((s) => `"${s.info.name}" (${s.info.type})`).join(', ') || 'none';
    throw new RecalibrateError(missing[0][0], `recalibrate: the recording has no ${missing.map((m) => m[1]).join('; no ')}. Its streams: ${have}`);
  }
  const sp = spikes!, dec = decoded!, cur = cursor!, tg = target!;

  // Markers: the first word names the task state entered.
  const events: { t: number; state: string }[] = [];
  let markerCount = 0;
  for (const mk of markerStreams) {
    markerCount += mk.timeStamps.length;
    (mk.data as string[][]).forEach((row, i) => {
      const word = String(row[0] ?? '').trim().split(/\s+/)[0];
      if (isTaskState(word)) events.push({ t: mk.timeStamps[i], state: word });
    });
  }
  if (events.length === 0) throw new RecalibrateError('ENOMARKERS', `recalibrate: the markers (${markerStreams.map((m) => `"${m.info.name}"`).join(', ')}: ${markerCount} in all) name no task state (target_on, hold, success, timeout, aborted, iti)`);
  events.sort((a, b) => a.t - b.t);

  const binMs = streamBinMs(sp.info);
  if (!binMs || !(binMs > 0)) throw new RecalibrateError('EBADRECORDING', `recalibrate: spike stream "${sp.info.name}" states no bin width`);
  const N = sp.info.channelCount;
  const S = numeric(sp, 'spike');
  const T = sp.timeStamps.length;
  if (T === 0) throw new RecalibrateError('EBADRECORDING', `recalibrate: spike stream "${sp.info.name}" has no samples`);
  const decLabels = channelLabels(dec.info) ?? [];
  const velIdx = decLabels.map((l, i) => [l, i] as const).filter(([l]) => !STAMP_CHANNELS.has(l)).map(([, i]) => i);
  if (velIdx.length === 0) throw new RecalibrateError('ENODECODED', `recalibrate: decoded stream "${dec.info.name}" has no velocity channels (channels: ${decLabels.join(', ') || 'unlabelled'})`);
  if (cur.info.channelCount < 2) throw new RecalibrateError('EBADRECORDING', `recalibrate: cursor stream "${cur.info.name}" has ${cur.info.channelCount} channel(s), needs x, y`);
  if (tg.info.channelCount < 3) throw new RecalibrateError('EBADRECORDING', `recalibrate: target stream "${tg.info.name}" has ${tg.info.channelCount} channel(s), needs x, y, radius`);
  const D = numeric(dec, 'decoded'), C = numeric(cur, 'cursor'), G = numeric(tg, 'target');
  const K = velIdx.length;
  const counts = new Float32Array(T * N);
  const dv = new Float32Array(T * K).fill(NaN);
  const cv = new Float32Array(T * 2).fill(NaN);
  const gv = new Float32Array(T * 3).fill(NaN);
  const phase: Phase[] = new Array(T);
  const tol = binMs / 2000;
  const hd = { i: 0 }, hc = { i: 0 }, hg = { i: 0 };
  let noDec = 0, noCur = 0, noTgt = 0;
  let e = -1;
  for (let i = 0; i < T; i++) {
    const t = sp.timeStamps[i];
    for (let c = 0; c < N; c++) counts[i * N + c] = Number(S[i * N + c]);
    const j = nearest(dec.timeStamps, t, tol, hd);
    if (j >= 0) for (let k = 0; k < K; k++) dv[i * K + k] = Number(D[j * dec.info.channelCount + velIdx[k]]);
    else noDec++;
    const q = nearest(cur.timeStamps, t, tol, hc);
    if (q >= 0) { cv[2 * i] = Number(C[q * cur.info.channelCount]); cv[2 * i + 1] = Number(C[q * cur.info.channelCount + 1]); } else noCur++;
    const g = nearest(tg.timeStamps, t, tol, hg);
    if (g >= 0) for (let k = 0; k < 3; k++) gv[3 * i + k] = Number(G[g * tg.info.channelCount + k]);
    else noTgt++;
    while (e + 1 < events.length && events[e + 1].t <= t + tol) e++;
    const st = e >= 0 ? events[e].state : 'iti';
    phase[i] = st === 'target_on' ? 'reach' : st === 'hold' ? 'hold' : 'none';
  }
  const notes: string[] = [];
  if (noDec > 0) notes.push(`${noDec} of ${T} spike bins have no decode within ±${(tol * 1000).toFixed(1)} ms`);
  if (noCur > 0) notes.push(`${noCur} of ${T} spike bins have no cursor sample within ±${(tol * 1000).toFixed(1)} ms`);
  if (noTgt > 0) notes.push(`${noTgt} of ${T} spike bins have no target sample within ±${(tol * 1000).toFixed(1)} ms`);
  if (noDec === T) throw new RecalibrateError('EBADRECORDING', `recalibrate: no decode in "${dec.info.name}" matches a spike bin of "${sp.info.name}" in time (are they on one clock?)`);
  if (noCur === T) throw new RecalibrateError('EBADRECORDING', `recalibrate: no cursor sample in "${cur.info.name}" matches a spike bin in time; the task should stamp cursor samples with the decode's timestamp`);
  return {
    counts: mat(counts, T, N), decoded: mat(dv, T, K), decodedLabels: velIdx.map((i) => decLabels[i]), cursor: mat(cv, T, 2), target: mat(gv, T, 3),
    phase, timestamps: Float64Array.from(sp.timeStamps), binMs, channels: N, trials: events.filter((x) => x.state === 'target_on').length,
    spikeStream: sp.info.name, notes,
  };
}
