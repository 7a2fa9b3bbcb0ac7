/**
 * An open-loop calibration block, as labs run one: the cursor moves to centre-out targets by
 * itself and the user intends along. Each trial: the target appears, the cursor waits a
 * reaction time, makes a minimum-jerk reach to it, holds, and the next trial brings it back to
 * the centre the same way; a short inter-trial interval follows each return.
 *
 * What the user intends while watching (`intent`):
 *  - 'aim' (default): the same point-at-target policy as in closed loop (controller.ts), from the
 *    cursor as seen through the visual delay. The user wants the target from the moment it shows
 *    and keeps wanting it until the cursor is seen there, so the intention leads the cursor at the
 *    start of a reach (the cursor waits a reaction time, then accelerates smoothly) and outlasts it
 *    at the end (by the delay). This is the premise of ReFIT (Gilja et al. 2012) and of Willett et
 *    al.'s simulator, where a decoder calibrated on open-loop data is improved by recalibrating on
 *    a closed-loop block: the labels a lab records in open loop are the cursor's kinematics, not
 *    the intention. No forward model here: the user's intentions do not move this cursor.
 *  - 'along': the user intends exactly the cursor's programmed velocity (a perfectly anticipating
 *    user; calibration's labels are then the intention itself, so ReFIT has nothing to correct).
 * Motor noise is added either way. What a lab would record as the behaviour is the cursor's
 * velocity, so that is the Kinematics stream the calibration fits; the intention itself is kept
 * as ground truth beside it.
 *
 * The XDF has the offline simulator's streams (sessionStreams: SpikeCounts, Kinematics with
 * vel_* and pos_*, true log-rates, latents) plus the task's (closedloop/streams.ts): cursor,
 * target, markers, and the intention.
 */
import { REACH_LATENT_DIM } from '../../calibration/simulator/reaching.js';
import { simChannelLabels, type SimulatedSession } from '../../calibration/simulator/session.js';
import { sessionStreams } from '../../calibration/simulator/xdf.js';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';
import { TASK_STREAMS } from '../streams.js';
import { ENCODER_LATENT_LABELS, sessionPrng } from './encoder.js';
import { UserError } from './errors.js';
import { SimulatedUser, type SimulatedUserOptions } from './user.js';

export type CalibrationIntent = 'aim' | 'along';
export const CALIBRATION_INTENTS: readonly CalibrationIntent[] = ['aim', 'along'];

export interface CalibrationBlockOptions extends SimulatedUserOptions {
  /** What the user intends while the cursor moves by itself (default 'aim'; see above). */
  intent?: CalibrationIntent;
  /** Centre-out reaches; each is followed by a return trial to the centre (default 64). */
  trials?: number;
  /** Target distance from the centre, cm (default 10), eight directions. */
  distance?: number;
  /** Target radius, cm (default 1.5). */
  radius?: number;
  /** Reach duration range, s (default 0.6–0.9). */
  reachS?: [number, number];
  /** Hold in the target, s (default 0.5). */
  holdS?: number;
  /** Reaction time after the target appears, s (default 0.2–0.3). */
  reactionS?: [number, number];
  /** Inter-trial interval after each return, s (default 0.3–0.5). */
  itiS?: [number, number];
  /** Timestamp of the first bin (default 1000 s). */
  origin?: number;
}

export interface Marker { t: number; text: string }

export interface CalibrationBlock {
  session: SimulatedSession;
  /** [bins × 3]: target x, y, radius (NaN x, y when none is shown). */
  target: Float32Array;
  /** [bins × 2]: the user's intended velocity, motor noise included. */
  intended: Float32Array;
  markers: Marker[];
  trials: number;
}

/** Minimum-jerk position fraction and its time derivative (per unit duration) at τ ∈ [0, 1]. */
function minJerk(tau: number): { s: number; ds: number } {
  const t2 = tau * tau, t3 = t2 * tau;
  return { s: 10 * t3 - 15 * t3 * tau + 6 * t3 * t2, ds: 30 * t2 - 60 * t3 + 30 * t2 * t2 };
}

interface Segment { kind: 'wait' | 'reach' | 'hold' | 'iti'; bins: number; from: [number, number]; to: [number, number]; target: [number, number] | null }

export function calibrationBlock(o: CalibrationBlockOptions): CalibrationBlock {
  const trials = o.trials ?? 64;
  if (!Number.isInteger(trials) || trials < 1 || trials > 100_000) throw new UserError('EUSEROPTS', `calibration block: trials must be an integer in 1–100000, got ${o.trials}`);
  const intent = o.intent ?? 'aim';
  if (!CALIBRATION_INTENTS.includes(intent)) throw new UserError('EUSEROPTS', `calibration block: intent must be one of ${CALIBRATION_INTENTS.join(', ')}, got ${String(o.intent)}`);
  const user = new SimulatedUser(intent === 'aim' ? { ...o, forwardModel: false } : o);
  const binMs = user.encoder.binMs;
  const dt = binMs / 1000;
  const D = o.distance ?? 10;
  const radius = o.radius ?? 1.5;
  const reach = o.reachS ?? [0.6, 0.9];
  const react = o.reactionS ?? [0.2, 0.3];
  const iti = o.itiS ?? [0.3, 0.5];
  const hold = o.holdS ?? 0.5;
  const origin = o.origin ?? 1000;
  const plan = sessionPrng(o, 5);
  const toBins = (s: number): number => Math.max(1, Math.round(s / dt));

  // The plan: targets in shuffled blocks of eight, so every direction is covered evenly.
  const segs: Segment[] = [];
  const markerAt: { seg: number; text: string }[] = [];
  let order: number[] = [];
  let trial = 0;
  for (let k = 0; k < trials; k++) {
    if (order.length === 0) {
      order = [0, 1, 2, 3, 4, 5, 6, 7];
      for (let i = 7; i > 0; i--) { const j = plan.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    }
    const target = order.pop()!;
    const a = (target * Math.PI) / 4;
    const out: [number, number] = [D * Math.cos(a), D * Math.sin(a)];
    for (const [from, to, label] of [[[0, 0], out, `target=${target}`], [out, [0, 0], 'target=centre']] as const) {
      const f = from as [number, number], t = to as [number, number];
      markerAt.push({ seg: segs.length, text: `target_on trial=${trial} ${label} x=${t[0].toFixed(3)} y=${t[1].toFixed(3)} r=${radius}` });
      segs.push({ kind: 'wait', bins: toBins(plan.range(react[0], react[1])), from: f, to: f, target: t });
      segs.push({ kind: 'reach', bins: toBins(plan.range(reach[0], reach[1])), from: f, to: t, target: t });
      markerAt.push({ seg: segs.length, text: `hold trial=${trial}` });
      segs.push({ kind: 'hold', bins: toBins(hold), from: t, to: t, target: t });
      markerAt.push({ seg: segs.length, text: `success trial=${trial}` });
      trial++;
    }
    markerAt.push({ seg: segs.length, text: 'iti' });
    segs.push({ kind: 'iti', bins: toBins(plan.range(iti[0], iti[1])), from: [0, 0], to: [0, 0], target: null });
  }

  const bins = segs.reduce((n, s) => n + s.bins, 0);
  const N = user.encoder.channels;
  const counts = new Int16Array(bins * N);
  const logRates = new Float32Array(bins * N);
  const latents = new Float32Array(bins * REACH_LATENT_DIM);
  const velocity = new Float32Array(bins * 2);
  const position = new Float32Array(bins * 2);
  const target = new Float32Array(bins * 3);
  const intended = new Float32Array(bins * 2);
  const timestamps = new Float64Array(bins);
  const step = 1 / (1000 / binMs);
  for (let i = 0; i < bins; i++) timestamps[i] = i === 0 ? origin : timestamps[i - 1] + step;
  const segStart: number[] = [];
  const trialStarts: number[] = [];

  let bin = 0;
  segs.forEach((s, si) => {
    segStart[si] = bin;
    if (s.kind === 'wait') trialStarts.push(bin);
    for (let j = 0; j < s.bins; j++, bin++) {
      let px = s.from[0], py = s.from[1], vx = 0, vy = 0;
      if (s.kind === 'reach') {
        // Velocity at the bin's middle, position at its end, so position integrates velocity.
        const T = s.bins * dt;
        const mid = minJerk((j + 0.5) / s.bins), end = minJerk((j + 1) / s.bins);
        vx = ((s.to[0] - s.from[0]) * mid.ds) / T;
        vy = ((s.to[1] - s.from[1]) * mid.ds) / T;
        px = s.from[0] + (s.to[0] - s.from[0]) * end.s;
        py = s.from[1] + (s.to[1] - s.from[1]) * end.s;
      }
      const shown = s.target !== null;
      if (intent === 'aim') user.step({ cursorX: px, cursorY: py, targetX: s.target?.[0] ?? px, targetY: s.target?.[1] ?? py, radius, aiming: shown });
      else user.stepAlong(px, py, vx, vy, shown);
      counts.set(user.counts, bin * N);
      for (let c = 0; c < N; c++) logRates[bin * N + c] = user.encoder.logRates[c];
      for (let k = 0; k < REACH_LATENT_DIM; k++) latents[bin * REACH_LATENT_DIM + k] = user.encoder.latents[k];
      velocity[bin * 2] = vx; velocity[bin * 2 + 1] = vy;
      position[bin * 2] = px; position[bin * 2 + 1] = py;
      target[bin * 3] = shown ? s.target![0] : NaN;
      target[bin * 3 + 1] = shown ? s.target![1] : NaN;
      target[bin * 3 + 2] = radius;
      intended[bin * 2] = user.intended[0]; intended[bin * 2 + 1] = user.intended[1];
    }
  });
  const markers = markerAt.map((m) => ({ t: timestamps[Math.min(bins - 1, segStart[m.seg] ?? bins - 1)], text: m.text }));

  const session: SimulatedSession = {
    kind: 'reaching', seed: o.seed, binMs, timestamps, channels: N, counts, trueLogRates: logRates,
    latentDim: REACH_LATENT_DIM, latents, latentLabels: [...ENCODER_LATENT_LABELS], velocity, velocityLabels: ['vel_x', 'vel_y'],
    position, channelLabels: simChannelLabels(N), trialStarts,
  };
  return { session, target, intended, markers, trials: trial };
}

/**
 * The user's intended velocity per bin (motor noise included) as an XDF stream: ground truth that
 * no lab has, kept beside a block so that what calibration and ReFIT assume can be checked.
 */
export function intentionStream(seed: number, binMs: number, timestamps: Float64Array, intended: Float32Array): XdfStreamInput {
  const tag = `langevind-simuser-${seed}`;
  return {
    info: makeStreamInfo({
      name: 'Intention', type: 'GroundTruthIntention', channelCount: 2, channelFormat: 'float32', nominalSrate: 1000 / binMs, createdAt: timestamps[0] - 10,
      hostname: 'langevind-simulator', sessionId: 'default', sourceId: `${tag}-intention`, uid: `${tag}-intention`, desc: describeChannels(['int_x', 'int_y'], { unit: 'cm/s', binMs }),
    }),
    timeStamps: timestamps, data: intended,
  };
}

/** The block as an XDF file `langevind calibrate` takes as it is. */
export function calibrationBlockXdf(b: CalibrationBlock, opts: { datetime?: string | null } = {}): Uint8Array {
  const s = b.session;
  const streams: XdfStreamInput[] = sessionStreams(s, { label: 'calibration-block', generator: 'langevind simulate-user --calibration-block' });
  const srate = 1000 / s.binMs;
  const tag = `langevind-simuser-${s.seed}`;
  const base = { nominalSrate: srate, createdAt: s.timestamps[0] - 10, hostname: 'langevind-simulator', sessionId: 'default' };
  streams.push({
    info: makeStreamInfo({ ...base, ...TASK_STREAMS.cursor, channelCount: 2, channelFormat: 'float32', sourceId: `${tag}-cursor`, uid: `${tag}-cursor`, desc: describeChannels(['x', 'y'], { unit: 'cm', binMs: s.binMs }) }),
    timeStamps: s.timestamps, data: s.position!,
  });
  streams.push({
    info: makeStreamInfo({ ...base, ...TASK_STREAMS.target, channelCount: 3, channelFormat: 'float32', sourceId: `${tag}-target`, uid: `${tag}-target`, desc: describeChannels(['x', 'y', 'radius'], { unit: 'cm', binMs: s.binMs }) }),
    timeStamps: s.timestamps, data: b.target,
  });
  streams.push({
    info: makeStreamInfo({ ...base, ...TASK_STREAMS.markers, nominalSrate: 0, channelCount: 1, channelFormat: 'string', sourceId: `${tag}-markers`, uid: `${tag}-markers` }),
    timeStamps: Float64Array.from(b.markers, (m) => m.t), data: b.markers.map((m) => [m.text]),
  });
  streams.push(intentionStream(s.seed, s.binMs, s.timestamps, b.intended));
  // The offline simulator's streams carry clock offsets of 0 every 5 s; the task's share them.
  const offsets = streams[0].clockOffsets;
  for (const st of streams) st.clockOffsets = offsets;
  return writeXdf(streams, { datetime: opts.datetime ?? null });
}
