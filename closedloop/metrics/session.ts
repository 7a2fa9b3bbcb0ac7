/**
 * A recorded closed-loop session as `langevind replay` measures it: the files that hold it read
 * as one (the task's recording, `task --record`, and the daemon's, `run --record`, may be two
 * files), which decoder the daemon's recording says was running, and the block's label.
 *
 * The decoder comes from the daemon's `langevind-decoded` stream: its `<desc><model_id>` is the
 * id the daemon decoded under at the start (`model/decoders.ts` decoderId: the model's id, with
 * `/wiener` or `/kalman` for a baseline); model and readout swaps during the block are events in
 * its `langevind-markers` stream. The task's recording alone does not say which decoder it saw.
 */
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import { DECODERS, type DecoderName } from '../../model/baselines.js';
import { ReplayError } from '../../streams/replay.js';
import { childText } from '../../streams/xml.js';
import { readXdf, type XdfFile } from '../../streams/xdf/reader.js';
import { mergeXdf } from '../../streams/xdf/merge.js';
import { DAEMON_MARKERS_STREAM, DECODED_STREAM } from '../streams.js';
import type { BlockMetrics } from './block.js';
import { metricsFromRecording, MetricsError } from './recording.js';
import type { TrialRecord } from './trial.js';

/** One session on the command line: a recording, the other files of the same session, an optional label. */
export interface SessionFiles {
  recording: string;
  with: string[];
  label?: string;
}

export interface RecordedDecoder {
  /** The id the daemon decoded under at the start, as recorded. */
  modelId: string;
  decoder: DecoderName;
  /** Model and readout swaps during the block, in order (the daemon's markers). */
  swaps: { event: string; modelId: string | null; afterSeq: number | null }[];
}

export interface SessionMetrics {
  label: string;
  /** Where the label came from: --label, the daemon's recording, or the recording's file name. */
  labelFrom: 'option' | 'decoder' | 'file';
  files: string[];
  decoder: RecordedDecoder | null;
  metrics: BlockMetrics;
  records: TrialRecord[];
  notes: string[];
}

/** Every file of the session read and merged into one (mergeXdf); a missing file is ENORECORDING. */
export function readSession(s: SessionFiles): XdfFile {
  const paths = [s.recording, ...s.with];
  for (const p of paths) if (!existsSync(p)) throw new ReplayError('ENORECORDING', `replay: no recording at ${p}`);
  return mergeXdf(paths.map((p) => readXdf(p)));
}

/** What the daemon's recording says was decoding; undefined without a `langevind-decoded` stream naming a model id. */
export function recordedDecoder(file: XdfFile): RecordedDecoder | undefined {
  const dec = file.streams.find((x) => x.info.name === DECODED_STREAM.name) ?? file.streams.find((x) => x.info.type === DECODED_STREAM.type);
  const modelId = childText(dec?.info.desc, 'model_id')?.trim();
  if (!modelId) return undefined;
  const slash = modelId.lastIndexOf('/');
  const suffix = slash >= 0 ? modelId.slice(slash + 1) : '';
  const decoder = (DECODERS as readonly string[]).includes(suffix) ? (suffix as DecoderName) : 'langevinflow';
  const swaps: RecordedDecoder['swaps'] = [];
  const mk = file.streams.find((x) => x.info.name === DAEMON_MARKERS_STREAM.name);
  if (mk && Array.isArray(mk.data)) {
    for (const row of mk.data as string[][]) {
      let ev: { event?: unknown; model_id?: unknown; after_seq?: unknown };
      try {
        ev = JSON.parse(String(row[0] ?? '')) as typeof ev;
      } catch {
        continue; // another program's marker: not a daemon event
      }
      if (ev.event === 'model_swapped' || ev.event === 'readout_swapped') {
        swaps.push({ event: ev.event, modelId: typeof ev.model_id === 'string' ? ev.model_id : null, afterSeq: typeof ev.after_seq === 'number' ? ev.after_seq : null });
      }
    }
  }
  return { modelId, decoder, swaps };
}

/** "wiener · 7a0a2b0bff7d", and "… → <id>" for each model swapped in during the block. */
export function decoderLabel(d: RecordedDecoder): string {
  const base = d.decoder === 'langevinflow' ? d.modelId : d.modelId.slice(0, d.modelId.lastIndexOf('/'));
  const models = d.swaps.filter((s) => s.event === 'model_swapped' && s.modelId).map((s) => ` → ${s.modelId}`).join('');
  const readouts = d.swaps.filter((s) => s.event === 'readout_swapped').length;
  return `${d.decoder} · ${base}${models}${readouts > 0 ? ` (+${readouts} readout swap${readouts > 1 ? 's' : ''})` : ''}`;
}

/** The session's closed-loop metrics, labelled by s.label, else by the recorded decoder, else by the recording's file name. */
export function sessionMetrics(s: SessionFiles, file: XdfFile = readSession(s)): SessionMetrics {
  const files = [s.recording, ...s.with];
  const decoder = recordedDecoder(file) ?? null;
  const [label, labelFrom]: [string, SessionMetrics['labelFrom']] = s.label !== undefined ? [s.label, 'option']
    : decoder ? [decoderLabel(decoder), 'decoder'] : [basename(s.recording).replace(/\.xdf$/i, ''), 'file'];
  try {
    const m = metricsFromRecording(file, label);
    return { label, labelFrom, files, decoder, metrics: m.metrics, records: m.records, notes: m.notes };
  } catch (e) {
    if (e instanceof MetricsError) throw new MetricsError(e.code, `${files.join(' + ')}: ${e.message}`);
    throw e;
  }
}

/** The JSON a report carries for one session: its label and files, then the metrics as `task --out` writes them (no trajectories). */
export function sessionJson(m: SessionMetrics): Record<string, unknown> {
  return {
    label: m.label, labelFrom: m.labelFrom, files: m.files, decoder: m.decoder, notes: m.notes,
    block: m.metrics.block, perTarget: m.metrics.perTarget, trials: m.metrics.trials,
  };
}
