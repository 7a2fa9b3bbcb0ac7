/**
 * A simulated session as an XDF file in LabRecorder's layout, with the streams a rig and the
 * calibration expect (SpikeCounts, Kinematics, Markers) plus the ground truth as extra streams.
 */
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { element } from '../../streams/xml.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';
import type { SimulatedSession } from './session.js';

export const SIM_STREAMS = {
  spikes: { name: 'M1-binned', type: 'SpikeCounts' },
  kinematics: { name: 'Hand', type: 'Kinematics' },
  trials: { name: 'Trials', type: 'Markers' },
  rates: { name: 'TrueLogRates', type: 'GroundTruthLogRates' },
  latents: { name: 'Latents', type: 'GroundTruthLatents' },
} as const;

export interface SessionToXdfOptions {
  /** FileHeader `<datetime>`; default none, so the same session always gives the same bytes. */
  datetime?: string | null;
}

/** The session's streams in the order sessionToXdf writes them (for writers that add their own). */
export function sessionStreams(s: SimulatedSession, who: { label?: string; generator?: string } = {}): XdfStreamInput[] {
  const bins = s.timestamps.length;
  const srate = 1000 / s.binMs;
  const label = who.label ?? s.kind;
  const tag = `langevind-sim-${label}-${s.seed}`;
  const createdAt = s.timestamps[0] - 10;
  const base = { nominalSrate: srate, createdAt, hostname: 'langevind-simulator', sessionId: 'default' };
  const simulation = element('simulation', [
    element('kind', [], label), element('seed', [], String(s.seed)), element('bins', [], String(bins)),
    element('generator', [], who.generator ?? 'langevind simulate'),
  ]);

  const spikesDesc = describeChannels(s.channelLabels, { unit: 'count', binMs: s.binMs });
  spikesDesc.children.push(simulation);
  const streams: XdfStreamInput[] = [];
  streams.push({
    info: makeStreamInfo({ ...base, ...SIM_STREAMS.spikes, channelCount: s.channels, channelFormat: 'int16', sourceId: `${tag}-spikes`, uid: `${tag}-spikes`, desc: spikesDesc }),
    timeStamps: s.timestamps, data: s.counts,
  });

  let kin: Float32Array = s.velocity;
  const kinLabels = [...s.velocityLabels];
  const units = ['cm/s', 'cm/s'];
  if (s.position) {
    kin = new Float32Array(bins * 4);
    for (let i = 0; i < bins; i++) {
      kin[i * 4] = s.velocity[i * 2]; kin[i * 4 + 1] = s.velocity[i * 2 + 1];
      kin[i * 4 + 2] = s.position[i * 2]; kin[i * 4 + 3] = s.position[i * 2 + 1];
    }
    kinLabels.push('pos_x', 'pos_y');
    units.push('cm', 'cm');
  }
  const kinDesc = describeChannels(kinLabels);
  kinDesc.children[0].children.forEach((ch, k) => ch.children.push(element('unit', [], s.kind === 'reaching' ? units[k] : 'a.u.')));
  streams.push({
    info: makeStreamInfo({ ...base, ...SIM_STREAMS.kinematics, channelCount: kinLabels.length, channelFormat: 'float32', sourceId: `${tag}-hand`, uid: `${tag}-hand`, desc: kinDesc }),
    timeStamps: s.timestamps, data: kin,
  });

  if (s.trials) {
    const ts: number[] = [];
    const marks: string[][] = [];
    for (const t of s.trials) {
      const deg = Math.round((t.angle * 180) / Math.PI);
      ts.push(s.timestamps[t.startBin]); marks.push(['trial_start']);
      ts.push(s.timestamps[t.goBin]); marks.push([`go ${t.outward ? 'out' : 'back'} target=${t.target} angle=${deg}`]);
      ts.push(s.timestamps[t.endBin]); marks.push(['trial_end']);
    }
    streams.push({
      info: makeStreamInfo({ ...base, ...SIM_STREAMS.trials, nominalSrate: 0, channelCount: 1, channelFormat: 'string', sourceId: `${tag}-trials`, uid: `${tag}-trials` }),
      timeStamps: Float64Array.from(ts), data: marks,
    });
  }

  const ratesDesc = describeChannels(s.channelLabels, { unit: 'log(Hz)', binMs: s.binMs });
  streams.push({
    info: makeStreamInfo({ ...base, ...SIM_STREAMS.rates, channelCount: s.channels, channelFormat: 'float32', sourceId: `${tag}-rates`, uid: `${tag}-rates`, desc: ratesDesc }),
    timeStamps: s.timestamps, data: s.trueLogRates,
  });
  streams.push({
    info: makeStreamInfo({ ...base, ...SIM_STREAMS.latents, channelCount: s.latentDim, channelFormat: 'float32', sourceId: `${tag}-latents`, uid: `${tag}-latents`, desc: describeChannels(s.latentLabels) }),
    timeStamps: s.timestamps, data: s.latents,
  });

  // LabRecorder measures a clock offset every 5 s; a simulated source shares the recorder's clock, so they are 0.
  const first = s.timestamps[0], last = s.timestamps[bins - 1];
  const offsets: { time: number; value: number }[] = [];
  for (let t = first + 5; t <= last; t += 5) offsets.push({ time: t, value: 0 });
  for (const st of streams) st.clockOffsets = offsets;
  return streams;
}

export function sessionToXdf(s: SimulatedSession, opts: SessionToXdfOptions = {}): Uint8Array {
  return writeXdf(sessionStreams(s), { datetime: opts.datetime ?? null });
}
