/**
 * Closed-loop metrics from a recording: the task's cursor and marker streams of an XDF
 * (closedloop/streams.ts) give back the trials the live task measured, so `langevind replay`
 * or any later analysis computes the same numbers from the file.
 *
 * A trial starts at a `target_on` marker that places a target (keys x=, y=, r=; a target_on
 * after leaving the target places none) and ends at the next success, timeout or aborted marker;
 * its trajectory is the cursor samples stamped from its start to its end (the task stamps
 * markers and cursor samples with the same decode timestamps). A trial without an end (the
 * recording stopped) is left out and noted.
 */
import type { XdfFile, XdfStream } from '../../streams/xdf/reader.js';
import { DAEMON_MARKERS_STREAM, TASK_STREAMS } from '../streams.js';
import { blockMetrics, type BlockMetrics } from './block.js';
import type { Outcome, TrialRecord } from './trial.js';

export class MetricsError extends Error {
  constructor(readonly code: 'ENOMARKERS' | 'ENOCURSOR' | 'EBADRECORDING', message: string) {
    super(message);
    this.name = 'MetricsError';
  }
}

export interface RecordingMetrics {
  metrics: BlockMetrics;
  records: TrialRecord[];
  notes: string[];
}

/** A marker's first word and its key=value pairs. */
export function parseMarker(text: string): { word: string; keys: Map<string, string> } {
  const [word = '', ...rest] = text.trim().split(/\s+/);
  const keys = new Map<string, string>();
  for (const kv of rest) {
    const i = kv.indexOf('=');
    if (i > 0) keys.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return { word, keys };
}

/** A marker's target=: an outer target's number, or centre (−1) / random (−2) by name or number. */
function targetIndex(v: string | undefined): number {
  if (v === 'centre' || v === 'center') return -1;
  if (v === 'random') return -2;
  const k = Number(v);
  return v !== undefined && Number.isInteger(k) ? k : -2;
}

const ENDS = new Set<string>(['success', 'timeout', 'aborted']);
// Stamps are the same doubles on both streams; this only absorbs a recorder's rounding.
const EPS = 1e-6;

function find(file: XdfFile, s: { name: string; type: string }): XdfStream | undefined {
  return file.streams.find((x) => x.info.name === s.name) ?? file.streams.find((x) => x.info.type === s.type && x.info.name !== DAEMON_MARKERS_STREAM.name);
}

/** The task's marker and cursor streams, and a description of each one missing. */
function lookup(file: XdfFile): { mk?: XdfStream; cur?: XdfStream; missing: string[] } {
  const mk = find(file, TASK_STREAMS.markers);
  const cur = find(file, TASK_STREAMS.cursor);
  const missing: string[] = [];
  if (!mk || !Array.isArray(mk.data)) missing.push(`task markers (a string stream "${TASK_STREAMS.markers.name}", type ${TASK_STREAMS.markers.type})`);
  if (!cur || Array.isArray(cur.data)) missing.push(`cursor (a numeric stream "${TASK_STREAMS.cursor.name}", type ${TASK_STREAMS.cursor.type})`);
  return { mk, cur, missing };
}

/** Whether the recording holds the task's streams that metricsFromRecording needs. */
export function hasTaskStreams(file: XdfFile): boolean {
  return lookup(file).missing.length === 0;
}

/** The task's marker and cursor streams, or a MetricsError naming every one missing (ENOMARKERS when the markers are). */
export function taskStreams(file: XdfFile): { markers: XdfStream; cursor: XdfStream } {
  const { mk, cur, missing } = lookup(file);
  if (missing.length > 0) {
    const have = file.streams.map((s) => `"${s.info.name}" (${s.info.type})`).join(', ') || 'none';
    const code = missing[0].startsWith('task markers') ? 'ENOMARKERS' : 'ENOCURSOR';
    throw new MetricsError(code, `metrics: the recording has no ${missing.join(' and no ')}; the task writes them (\`task --record\`). Its streams: ${have}`);
  }
  return { markers: mk!, cursor: cur! };
}

export function metricsFromRecording(file: XdfFile, label = 'recording'): RecordingMetrics {
  const { markers: mk, cursor: cur } = taskStreams(file);
  if (cur.info.channelCount < 2) throw new MetricsError('EBADRECORDING', `metrics: cursor stream "${cur.info.name}" has ${cur.info.channelCount} channel(s), needs x, y`);
  const C = cur.data as ArrayLike<number>;
  const cc = cur.info.channelCount;
  const ts = cur.timeStamps;
  const markers = (mk.data as string[][]).map((row, i) => ({ t: mk.timeStamps[i], ...parseMarker(String(row[0] ?? '')) })).sort((a, b) => a.t - b.t);

  const records: TrialRecord[] = [];
  const notes: string[] = [];
  let open: { trial: number; t: number; target: TrialRecord['target'] } | null = null;
  let j = 0;
  for (const m of markers) {
    if (m.word === 'target_on' && m.keys.has('x') && m.keys.has('y')) {
      if (open) notes.push(`trial ${open.trial}: a new target appeared before it ended; left out`);
      const x = Number(m.keys.get('x')), y = Number(m.keys.get('y')), r = Number(m.keys.get('r'));
      if (![x, y, r].every(Number.isFinite) || !(r > 0)) throw new MetricsError('EBADRECORDING', `metrics: marker "target_on" at ${m.t} has no valid x, y, r (${[...m.keys].map(([k, v]) => `${k}=${v}`).join(' ')})`);
      const trial = Number(m.keys.get('trial') ?? records.length);
      open = { trial, t: m.t, target: { index: targetIndex(m.keys.get('target')), x, y, radius: r } };
    } else if (ENDS.has(m.word) && open) {
      const rec: TrialRecord = { trial: open.trial, target: open.target, outcome: m.word as Outcome, t: [], x: [], y: [] };
      while (j < ts.length && ts[j] < open.t - EPS) j++;
      let k = j;
      for (; k < ts.length && ts[k] <= m.t + EPS; k++) {
        rec.t.push(ts[k]);
        rec.x.push(Number(C[k * cc]));
        rec.y.push(Number(C[k * cc + 1]));
      }
      j = k;
      if (rec.t.length === 0) notes.push(`trial ${open.trial}: no cursor samples between its onset and its end; left out`);
      else records.push(rec);
      open = null;
    }
  }
  if (open) notes.push(`trial ${open.trial}: the recording ends before the trial does; left out`);
  if (records.length === 0 && !markers.some((m) => m.word === 'target_on'))
    throw new MetricsError('ENOMARKERS', `metrics: markers stream "${mk.info.name}" has ${markers.length} markers and no target_on`);
  return { metrics: blockMetrics(label, records), records, notes };
}
