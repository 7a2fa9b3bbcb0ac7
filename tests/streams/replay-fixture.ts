/** Small synthetic recordings for the replay and recorder tests, written with the project's XDF writer. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';

/** Counts bin i, channel c = (i * 7 + c * 3) % 11; velocity (sin, cos) of the bin index; timestamps from t0. */
export function makeSession(opts: { bins: number; channels: number; binMs: number; t0?: number; kinematics?: boolean }): {
  bytes: Uint8Array;
  counts: Int16Array;
  timestamps: Float64Array;
  velocity: Float64Array;
} {
  const { bins, channels, binMs } = opts;
  const t0 = opts.t0 ?? 1000;
  const counts = new Int16Array(bins * channels);
  for (let i = 0; i < bins; i++) for (let c = 0; c < channels; c++) counts[i * channels + c] = (i * 7 + c * 3) % 11;
  const timestamps = Float64Array.from({ length: bins }, (_, i) => t0 + ((i + 1) * binMs) / 1000);
  const velocity = new Float64Array(bins * 2);
  for (let i = 0; i < bins; i++) {
    velocity[2 * i] = Math.sin(i / 5);
    velocity[2 * i + 1] = Math.cos(i / 5);
  }
  const labels = Array.from({ length: channels }, (_, c) => `ch${c}`);
  const streams: XdfStreamInput[] = [
    {
      info: makeStreamInfo({ name: 'M1-binned', type: 'SpikeCounts', channelCount: channels, channelFormat: 'int16', nominalSrate: 1000 / binMs, desc: describeChannels(labels, { binMs }) }),
      timeStamps: timestamps,
      data: counts,
    },
  ];
  if (opts.kinematics !== false) {
    // Position channels first, so the replay has to pick the vel_* ones by label.
    const kin = new Float32Array(bins * 4);
    for (let i = 0; i < bins; i++) kin.set([i, -i, velocity[2 * i], velocity[2 * i + 1]], i * 4);
    streams.push({
      info: makeStreamInfo({ name: 'Hand', type: 'Kinematics', channelCount: 4, channelFormat: 'float32', nominalSrate: 1000 / binMs, desc: describeChannels(['pos_x', 'pos_y', 'vel_x', 'vel_y']) }),
      timeStamps: timestamps,
      data: kin,
    });
  }
  return { bytes: writeXdf(streams, { datetime: null }), counts, timestamps, velocity };
}

export function writeSession(dir: string, name: string, opts: Parameters<typeof makeSession>[0]): string {
  const p = join(dir, name);
  writeFileSync(p, makeSession(opts).bytes);
  return p;
}
