/** Synthetic recordings for calibration tests, written as real XDF files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';

export interface RecordingSpec {
  bins: number;
  channels: number;
  binMs?: number;
  /** Behaviour timestamps offset from the spikes' (seconds). */
  behaviourShift?: number;
  /** Behaviour samples (default: bins). */
  behaviourBins?: number;
  behaviourLabels?: string[];
  /** Set velocity of these bins to NaN. */
  nanBins?: number[];
  spikeType?: string;
  behaviourType?: string;
  omitBehaviour?: boolean;
}

/** Counts driven by a slow 2-D rotation; velocity = that rotation. Deterministic. */
export function writeRecording(dir: string, name: string, s: RecordingSpec): string {
  const binMs = s.binMs ?? 20;
  const dt = binMs / 1000;
  const ts = Float64Array.from({ length: s.bins }, (_, i) => 100 + i * dt);
  const counts = new Int16Array(s.bins * s.channels);
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < s.bins; i++) {
    const a = Math.sin(i * 0.15);
    const b = Math.cos(i * 0.15);
    for (let c = 0; c < s.channels; c++) {
      const lam = Math.exp(0.2 + 0.8 * (c % 2 ? a : b) * ((c % 3) - 1));
      let k = 0;
      let p = rand();
      const L = Math.exp(-lam);
      while (p > L) { k++; p *= rand(); }
      counts[i * s.channels + c] = k;
    }
  }
  const labels = s.behaviourLabels ?? ['vel_x', 'vel_y'];
  const nb = s.behaviourBins ?? s.bins;
  const beh = new Float32Array(nb * labels.length);
  for (let i = 0; i < nb; i++) {
    beh[i * labels.length] = Math.sin(i * 0.15);
    if (labels.length > 1) beh[i * labels.length + 1] = Math.cos(i * 0.15);
  }
  for (const i of s.nanBins ?? []) beh[i * labels.length] = NaN;
  const streams: XdfStreamInput[] = [{
    info: makeStreamInfo({ name: 'M1', type: s.spikeType ?? 'SpikeCounts', channelCount: s.channels, channelFormat: 'int16', nominalSrate: 1000 / binMs,
      sourceId: 'sp', desc: describeChannels(Array.from({ length: s.channels }, (_, i) => `ch${i}`), { binMs }) }),
    timeStamps: ts, data: counts,
  }];
  if (!s.omitBehaviour) streams.push({
    info: makeStreamInfo({ name: 'Hand', type: s.behaviourType ?? 'Kinematics', channelCount: labels.length, channelFormat: 'float32', nominalSrate: 1000 / binMs,
      sourceId: 'hand', desc: describeChannels(labels) }),
    timeStamps: Float64Array.from({ length: nb }, (_, i) => 100 + (s.behaviourShift ?? 0) + i * dt), data: beh,
  });
  const path = join(dir, name);
  writeFileSync(path, writeXdf(streams));
  return path;
}
