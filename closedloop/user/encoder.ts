/**
 * Part 3 of the simulated user: a neural encoder from the intended velocity to spike counts.
 * Not a LangevinFlow model and fitted to none: a linear dynamical system of latents driven by
 * the intention, a random log-linear tuning of N channels to those latents, Poisson spikes.
 *
 * Latents (6, the reaching simulator's layout: REACH_LATENT_LABELS):
 *  - a rotational plane per velocity axis, r ← M r + b·u_a with M = ρ·Rot(θ) a damped rotation
 *    (about 2 Hz, τ 150 ms: the rotational dynamics of motor cortex, Churchland et al. 2012).
 *    b = (I − M)·e₂ / VELOCITY_GAIN, so for a held intention the plane settles at
 *    (0, u_a / VELOCITY_GAIN), the same scale as the reaching simulator's planes; a change of
 *    intention swings through the first coordinate before it settles. The velocity is thus in
 *    the latents with dynamics: a decoder with history can recover u_t, one without lags less so;
 *  - a condition-invariant signal that follows the intended speed (low-passed |u|): nonlinear
 *    in the intention, as the large speed-related component of real populations;
 *  - an engagement signal, high while a target is shown.
 * Each latent has Ornstein–Uhlenbeck noise. Tuning (weights and baselines) comes from
 * tuningFromLatentStats, scaled for nominal latent statistics so each channel's log-rate
 * modulation has a given std, as the offline simulator's channels.
 *
 * Deterministic for a seed and session: separate PRNG streams for tuning (the seed alone), latent
 * noise and spikes (seed and session).
 * step() allocates nothing.
 */
import { Prng } from '../../calibration/simulator/prng.js';
import { REACH_LATENT_DIM, REACH_LATENT_LABELS, VELOCITY_GAIN } from '../../calibration/simulator/reaching.js';
import { applyTuning, tuningFromLatentStats, type LatentTuning } from '../../calibration/simulator/session.js';
import { UserError } from './errors.js';

export interface EncoderOptions {
  /** The population: tuning and baselines (the same seed is the same "subject" in every block). */
  seed: number;
  /** The block: latent, spike and motor noise, the calibration block's plan (default 0). */
  session?: number;
  /** Channels (default 192). */
  channels?: number;
  /** Bin width, ms (default 20). */
  binMs?: number;
  /** Geometric mean baseline rate, Hz (default 14, as the reaching simulator). */
  baseRate?: number;
  /** Std of each channel's log-rate modulation at nominal latent statistics (default 0.5). */
  modulation?: number;
  /** Std of the latents' OU noise (default 0.05, 1.5 cm/s of velocity in the planes). */
  latentNoise?: number;
  /** Rotation frequency of the planes, Hz (default 2). */
  rotationHz?: number;
  /** Decay time constant of the planes, s (default 0.15). */
  tauS?: number;
}

export const ENCODER_LATENT_LABELS = REACH_LATENT_LABELS;

/** Stream k of a block's noise: distinct for every (seed, session), and never the tuning's stream. */
export function sessionPrng(o: { seed: number; session?: number }, k: number): Prng {
  const session = o.session ?? 0;
  if (!Number.isInteger(session) || session < 0 || session > 1_000_000) throw new UserError('EUSEROPTS', `user: session must be an integer in 0–1000000, got ${o.session}`);
  return new Prng((o.seed * 1_000_003 + session) * 8 + k);
}
const TAU_CIS = 0.1;
const TAU_ENGAGE = 0.3;
const TAU_NOISE = 0.2;
/** Intended speed (cm/s) at which the condition-invariant signal reaches 1. */
const SPEED_REF = 20;
/**
 * Nominal latent statistics the tuning is scaled for: planes' second coordinates ~0.3
 * (9 cm/s of velocity), first coordinates ~0.2, cis and engage as in a centre-out block.
 */
const NOMINAL_MEAN = [0, 0, 0, 0, 0.4, 0.6];
const NOMINAL_VAR = [0.04, 0.09, 0.04, 0.09, 0.1, 0.2];

export class NeuralEncoder {
  readonly channels: number;
  readonly binMs: number;
  readonly tuning: LatentTuning;
  /** The current latent state (6) including its noise; read after step(). */
  readonly latents = new Float64Array(REACH_LATENT_DIM);
  /** This bin's log-rates, natural log of Hz; read after step(). */
  readonly logRates: Float64Array;
  private readonly z = new Float64Array(REACH_LATENT_DIM);
  private readonly ou = new Float64Array(REACH_LATENT_DIM);
  private readonly m: Float64Array;
  private readonly b: Float64Array;
  private readonly aCis: number;
  private readonly aEngage: number;
  private readonly ouA: number;
  private readonly ouB: number;
  private readonly dt: number;
  private readonly noiseRng: Prng;
  private readonly spikeRng: Prng;

  constructor(o: EncoderOptions) {
    const channels = o.channels ?? 192;
    const binMs = o.binMs ?? 20;
    if (!Number.isInteger(channels) || channels < 1 || channels > 65535) throw new UserError('EUSEROPTS', `encoder: channels must be an integer in 1–65535, got ${channels}`);
    if (!(binMs > 0 && binMs <= 1000)) throw new UserError('EUSEROPTS', `encoder: binMs must be in (0, 1000], got ${binMs}`);
    if (!Number.isFinite(o.seed)) throw new UserError('EUSEROPTS', `encoder: seed must be a finite number, got ${o.seed}`);
    this.channels = channels;
    this.binMs = binMs;
    const dt = binMs / 1000;
    this.dt = dt;
    const rho = Math.exp(-dt / (o.tauS ?? 0.15));
    const th = 2 * Math.PI * (o.rotationHz ?? 2) * dt;
    const c = rho * Math.cos(th), s = rho * Math.sin(th);
    this.m = Float64Array.of(c, -s, s, c);
    // b = (I − M) e₂ / κ: the fixed point for a held intention u is (0, u/κ).
    this.b = Float64Array.of(s / VELOCITY_GAIN, (1 - c) / VELOCITY_GAIN);
    this.aCis = Math.exp(-dt / TAU_CIS);
    this.aEngage = Math.exp(-dt / TAU_ENGAGE);
    this.ouA = Math.exp(-dt / TAU_NOISE);
    this.ouB = (o.latentNoise ?? 0.05) * Math.sqrt(1 - this.ouA * this.ouA);
    const cov = new Float64Array(REACH_LATENT_DIM * REACH_LATENT_DIM);
    for (let k = 0; k < REACH_LATENT_DIM; k++) cov[k * REACH_LATENT_DIM + k] = NOMINAL_VAR[k];
    this.tuning = tuningFromLatentStats(new Prng(o.seed * 4 + 1), NOMINAL_MEAN, cov, REACH_LATENT_DIM, channels, o.baseRate ?? 14, o.modulation ?? 0.5);
    this.noiseRng = sessionPrng(o, 2);
    this.spikeRng = sessionPrng(o, 3);
    this.logRates = new Float64Array(channels);
  }

  /**
   * Advances one bin under intended velocity (ux, uy) (cm/s) and writes the bin's spike counts
   * into counts (length ≥ channels; clamped to int16's range).
   */
  step(ux: number, uy: number, engaged: boolean, counts: Int16Array | Int32Array | Float32Array | Float64Array): void {
    const z = this.z, m = this.m, b = this.b;
    for (let a = 0; a < 2; a++) {
      const u = a === 0 ? ux : uy;
      const r1 = z[2 * a], r2 = z[2 * a + 1];
      z[2 * a] = m[0] * r1 + m[1] * r2 + b[0] * u;
      z[2 * a + 1] = m[2] * r1 + m[3] * r2 + b[1] * u;
    }
    z[4] = this.aCis * z[4] + (1 - this.aCis) * Math.min(2, Math.hypot(ux, uy) / SPEED_REF);
    z[5] = this.aEngage * z[5] + (1 - this.aEngage) * (engaged ? 1 : 0);
    const lat = this.latents;
    for (let k = 0; k < REACH_LATENT_DIM; k++) {
      this.ou[k] = this.ouA * this.ou[k] + this.ouB * this.noiseRng.normal();
      lat[k] = z[k] + this.ou[k];
    }
    applyTuning(this.tuning, lat, 0, this.logRates, 0);
    const dt = this.dt;
    for (let ch = 0; ch < this.channels; ch++) counts[ch] = Math.min(32767, this.spikeRng.poisson(Math.exp(this.logRates[ch]) * dt));
  }

  /** Back to rest (latents and noise zero); the PRNG streams continue. */
  reset(): void {
    this.z.fill(0);
    this.ou.fill(0);
  }
}
