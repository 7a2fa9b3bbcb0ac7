/**
 * A centre-out-and-back reaching task with rotational (jPCA-like) latent dynamics that drive
 * hand velocity. Each trial: a preparatory period in which the state settles to a point set by
 * the reach direction and peak speed, then a half-turn rotation during the movement, then decay.
 *
 * Latents (6): plane X (2), plane Y (2), a condition-invariant movement signal, an engagement
 * signal. For a reach with direction u = (cos θ, sin θ), plane a ∈ {X, Y} holds
 * u_a·A·g·(cos φ, sin φ) with φ going 0 → π over the movement, so velocity
 * v_a = κ·(second coordinate of plane a) is bell-shaped (a half sine) and points at the target.
 * Velocity is exactly that fixed linear readout of the (noisy) latents; position integrates it.
 */
import type { Prng } from './prng.js';

export interface ReachTrial {
  startBin: number;
  goBin: number;
  endBin: number;
  /** Direction of the reach, radians. */
  angle: number;
  /** true: centre → target; false: back to the centre. */
  outward: boolean;
  /** Target index 0–7 of the outward reach this trial belongs to. */
  target: number;
}

export interface ReachingOptions {
  binMs: number;
  bins: number;
  /** Reach distance (cm), default 10. */
  distance?: number;
  /** Std of the latents' Ornstein–Uhlenbeck noise, default 0.05 (1.5 cm/s of hand velocity). */
  latentNoise?: number;
}

export const REACH_LATENT_DIM = 6;
export const REACH_LATENT_LABELS = ['rotX1', 'rotX2', 'rotY1', 'rotY2', 'cis', 'engage'];
/** cm/s of hand velocity per unit of the rotation planes' second coordinate. */
export const VELOCITY_GAIN = 30;

const TAU_PREP = 0.08;
const TAU_DECAY = 0.15;
const TAU_NOISE = 0.2;

export interface ReachingResult {
  latents: Float32Array;
  velocity: Float32Array;
  position: Float32Array;
  trials: ReachTrial[];
}

export function simulateReaching(rng: Prng, o: ReachingOptions): ReachingResult {
  const { bins, binMs } = o;
  const dt = binMs / 1000;
  const D = o.distance ?? 10;
  const noise = o.latentNoise ?? 0.05;
  const L = REACH_LATENT_DIM;
  const latents = new Float32Array(bins * L);
  const velocity = new Float32Array(bins * 2);
  const position = new Float32Array(bins * 2);
  const trials: ReachTrial[] = [];
  const ou = new Float64Array(L);
  const ouA = Math.exp(-dt / TAU_NOISE);
  const ouB = noise * Math.sqrt(1 - ouA * ouA);
  const z = new Float64Array(L);

  let bin = 0;
  let px = 0, py = 0;
  let outward = true;
  let target = 0;
  // Start with a short pause so the first trial's preparatory period is visible.
  let tNext = rng.range(0.2, 0.5);
  // Per-trial plan (seconds from session start; Infinity before the first); the previous trial's end state decays.
  let tStart = Infinity, tGo = Infinity, T = 1, tEnd = Infinity;
  let ux = 0, uy = 0, amp = 0, ampEnd = 0, prevEnd = Infinity, prevUx = 0, prevUy = 0, prevAmp = 0;

  for (; bin < bins; bin++) {
    const t = (bin + 0.5) * dt;
    if (t >= tNext) {
      // Plan the next trial from the hand's actual position (the return reach goes back to the centre).
      prevEnd = tEnd; prevUx = ux; prevUy = uy; prevAmp = ampEnd;
      let angle: number, dist: number;
      if (outward) {
        target = rng.int(8);
        angle = (target * Math.PI) / 4;
        dist = D;
      } else {
        angle = Math.atan2(-py, -px);
        dist = Math.hypot(px, py);
      }
      const prep = rng.range(0.3, 0.5);
      T = rng.range(0.4, 0.6);
      const pause = rng.range(0.3, 0.6);
      tStart = tNext;
      tGo = tStart + prep;
      tEnd = tGo + T;
      tNext = tEnd + pause;
      ux = Math.cos(angle);
      uy = Math.sin(angle);
      // Peak speed of a half-sine profile covering `dist` in T; the settled preparatory amplitude g(tGo) is folded in.
      const gGo = 1 - Math.exp(-prep / TAU_PREP);
      amp = (dist * Math.PI) / (2 * T) / VELOCITY_GAIN / gGo;
      ampEnd = amp * gGo;
      const toBin = (s: number): number => Math.min(bins - 1, Math.floor(s / dt));
      trials.push({ startBin: toBin(tStart), goBin: toBin(tGo), endBin: toBin(tEnd), angle, outward, target });
      outward = !outward;
    }
    z.fill(0);
    // The previous trial's final state (−1, 0 in each plane) decays while the new one prepares.
    if (t > prevEnd) {
      const d = prevAmp * Math.exp(-(t - prevEnd) / TAU_DECAY);
      z[0] += -prevUx * d; z[2] += -prevUy * d;
      z[4] += Math.exp(-(t - prevEnd) / TAU_DECAY);
      z[5] += Math.exp(-(t - prevEnd) / (2 * TAU_DECAY));
    }
    if (t >= tStart) {
      const g = 1 - Math.exp(-(Math.min(t, tGo) - tStart) / TAU_PREP);
      if (t < tGo) {
        z[0] += ux * amp * g; z[2] += uy * amp * g;
        z[5] += g;
      } else if (t < tEnd) {
        const phi = (Math.PI * (t - tGo)) / T;
        const c = Math.cos(phi), s = Math.sin(phi);
        z[0] += ux * amp * g * c; z[1] += ux * amp * g * s;
        z[2] += uy * amp * g * c; z[3] += uy * amp * g * s;
        z[4] += 1 - Math.exp(-(t - tGo) / 0.05);
        z[5] += 1;
      } else {
        const d = Math.exp(-(t - tEnd) / TAU_DECAY);
        z[0] += -ux * amp * g * d; z[2] += -uy * amp * g * d;
        z[4] += d;
        z[5] += Math.exp(-(t - tEnd) / (2 * TAU_DECAY));
      }
    }
    for (let k = 0; k < L; k++) {
      ou[k] = ouA * ou[k] + ouB * rng.normal();
      latents[bin * L + k] = z[k] + ou[k];
    }
    const vx = VELOCITY_GAIN * latents[bin * L + 1];
    const vy = VELOCITY_GAIN * latents[bin * L + 3];
    velocity[bin * 2] = vx;
    velocity[bin * 2 + 1] = vy;
    px += vx * dt;
    py += vy * dt;
    position[bin * 2] = px;
    position[bin * 2 + 1] = py;
  }
  return { latents, velocity, position, trials };
}
