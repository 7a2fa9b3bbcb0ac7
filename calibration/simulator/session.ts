/**
 * Seeded synthetic sessions with known ground truth: latents → log-rates (affine) → Poisson
 * counts, plus hand velocity that is a fixed linear function of the latents, so decoders and
 * calibration have something real to find. The same options and seed give the same session.
 */
import { Prng } from './prng.js';
import { lorenzLatents } from './lorenz.js';
import { REACH_LATENT_DIM, REACH_LATENT_LABELS, simulateReaching, type ReachTrial } from './reaching.js';

export type SimulationKind = 'lorenz' | 'reaching';

export interface SimulateOptions {
  kind: SimulationKind;
  seed: number;
  bins: number;
  /** Bin width in ms (default 20). */
  binMs?: number;
  channels: number;
  /** Geometric mean of the channels' baseline rates, Hz (default 12 for lorenz, 14 for reaching). */
  baseRate?: number;
  /** Std of each channel's log-rate modulation by the latents (default 0.6 lorenz, 0.5 reaching). */
  modulation?: number;
  /** Timestamp of the first bin's end, seconds (default 1000.0). */
  origin?: number;
  /** Lorenz time units per second of session (default 0.75). */
  lorenzSpeed?: number;
  /** Reaching: std of the latent noise (default 0.05). */
  latentNoise?: number;
}

export interface SimulatedSession {
  kind: SimulationKind;
  seed: number;
  binMs: number;
  /** Seconds, at the end of each bin; the first is `origin`, then + binMs/1000 each. */
  timestamps: Float64Array;
  channels: number;
  /** Spike counts, row-major [bins × channels]. */
  counts: Int16Array;
  /** Natural log of each channel's firing rate in Hz, [bins × channels]. Expected count = exp(·)·binMs/1000. */
  trueLogRates: Float32Array;
  latentDim: number;
  latents: Float32Array;
  latentLabels: string[];
  /** Hand velocity [bins × 2] (cm/s for reaching, arbitrary units for lorenz). */
  velocity: Float32Array;
  velocityLabels: string[];
  /** Hand position [bins × 2] (cm), reaching only. */
  position?: Float32Array;
  channelLabels: string[];
  /** Bin index of each trial's start (reaching). */
  trialStarts?: number[];
  trials?: ReachTrial[];
}

export class SimulateError extends Error {
  readonly code = 'ESIMULATE';
  constructor(message: string) {
    super(message);
    this.name = 'SimulateError';
  }
}

function check(o: SimulateOptions): Required<Pick<SimulateOptions, 'binMs' | 'origin'>> {
  const binMs = o.binMs ?? 20;
  if (o.kind !== 'lorenz' && o.kind !== 'reaching') throw new SimulateError(`simulate: kind must be "lorenz" or "reaching", got "${String(o.kind)}"`);
  if (!Number.isInteger(o.bins) || o.bins < 1) throw new SimulateError(`simulate: bins must be an integer ≥ 1, got ${o.bins}`);
  if (!Number.isInteger(o.channels) || o.channels < 1 || o.channels > 65535) throw new SimulateError(`simulate: channels must be an integer in 1–65535, got ${o.channels}`);
  if (!(binMs > 0 && binMs <= 1000)) throw new SimulateError(`simulate: binMs must be in (0, 1000], got ${binMs}`);
  if (!Number.isFinite(o.seed)) throw new SimulateError(`simulate: seed must be a finite number, got ${o.seed}`);
  if (o.baseRate !== undefined && !(o.baseRate > 0)) throw new SimulateError(`simulate: baseRate must be > 0 Hz, got ${o.baseRate}`);
  if (o.modulation !== undefined && !(o.modulation >= 0)) throw new SimulateError(`simulate: modulation must be ≥ 0, got ${o.modulation}`);
  return { binMs, origin: o.origin ?? 1000 };
}

/** A population's tuning to a latent state: log-rate_c = bias_c + Σ_k W[c·dim + k]·latent_k. */
export interface LatentTuning { dim: number; channels: number; W: Float64Array; bias: Float64Array }

/**
 * Random tuning scaled so each channel's log-rate modulation has std `modulation` for latents
 * with this mean and covariance; baselines spread log-uniformly over ×/÷ 1.8 around baseRate.
 */
export function tuningFromLatentStats(
  rng: Prng, mean: ArrayLike<number>, cov: ArrayLike<number>, dim: number, channels: number, baseRate: number, modulation: number,
): LatentTuning {
  const W = new Float64Array(channels * dim);
  const bias = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < dim; k++) W[c * dim + k] = rng.normal();
    let v = 0;
    for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) v += W[c * dim + a] * cov[a * dim + b] * W[c * dim + b];
    const scale = v > 0 ? modulation / Math.sqrt(v) : 0;
    let shift = 0;
    for (let k = 0; k < dim; k++) { W[c * dim + k] *= scale; shift += W[c * dim + k] * mean[k]; }
    // Centring on the latent mean keeps baseRate the median rate.
    bias[c] = Math.log(baseRate) + Math.log(1.8) * (2 * rng.uniform() - 1) - shift;
  }
  return { dim, channels, W, bias };
}

/** Log-rates are clipped to 0.1–500 Hz so a far-out latent cannot produce absurd counts. */
export const LOG_RATE_MIN = Math.log(0.1);
export const LOG_RATE_MAX = Math.log(500);

/** Log-rates (natural log of Hz) of every channel for one latent vector, into out. Allocation-free. */
export function applyTuning(t: LatentTuning, latent: ArrayLike<number>, latentOffset: number, out: Float32Array | Float64Array, outOffset: number): void {
  const { dim, channels, W, bias } = t;
  for (let c = 0; c < channels; c++) {
    let x = bias[c];
    for (let k = 0; k < dim; k++) x += W[c * dim + k] * latent[latentOffset + k];
    out[outOffset + c] = Math.min(LOG_RATE_MAX, Math.max(LOG_RATE_MIN, x));
  }
}

/** Log-rates = log(baseline) + W·latents with W scaled so each channel's modulation has std `modulation`. */
function logRatesFromLatents(
  rng: Prng, latents: Float32Array, bins: number, dim: number, channels: number, baseRate: number, modulation: number,
): Float32Array {
  // Latent covariance, so the modulation std is exact for this session's latents.
  const mean = new Float64Array(dim);
  for (let i = 0; i < bins; i++) for (let k = 0; k < dim; k++) mean[k] += latents[i * dim + k] / bins;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < bins; i++) {
    for (let a = 0; a < dim; a++) {
      const da = latents[i * dim + a] - mean[a];
      for (let b = 0; b < dim; b++) cov[a * dim + b] += (da * (latents[i * dim + b] - mean[b])) / bins;
    }
  }
  const tuning = tuningFromLatentStats(rng, mean, cov, dim, channels, baseRate, modulation);
  const out = new Float32Array(bins * channels);
  for (let i = 0; i < bins; i++) applyTuning(tuning, latents, i * dim, out, i * channels);
  return out;
}

export function simulateSession(opts: SimulateOptions): SimulatedSession {
  const { binMs, origin } = check(opts);
  const { bins, channels, kind, seed } = opts;
  // Independent streams for the latents, the rate map and the spikes, so changing the channel count leaves the latents alone.
  const rngLatent = new Prng(seed * 3 + 1);
  const rngMap = new Prng(seed * 3 + 2);
  const rngSpikes = new Prng(seed * 3 + 3);
  const dt = binMs / 1000;

  let latents: Float32Array, latentDim: number, latentLabels: string[], velocity: Float32Array;
  let position: Float32Array | undefined, trials: ReachTrial[] | undefined;
  let baseRate: number, modulation: number;
  if (kind === 'lorenz') {
    latentDim = 3;
    latentLabels = ['x', 'y', 'z'];
    latents = lorenzLatents(rngLatent, bins, (opts.lorenzSpeed ?? 0.75) * dt);
    // A fixed linear readout: two random unit directions in latent space.
    velocity = new Float32Array(bins * 2);
    const V = Array.from({ length: 6 }, () => rngLatent.normal());
    for (let r = 0; r < 2; r++) {
      const n = Math.hypot(V[r * 3], V[r * 3 + 1], V[r * 3 + 2]);
      for (let k = 0; k < 3; k++) V[r * 3 + k] /= n;
    }
    for (let i = 0; i < bins; i++) {
      for (let r = 0; r < 2; r++) {
        let v = 0;
        for (let k = 0; k < 3; k++) v += V[r * 3 + k] * latents[i * 3 + k];
        velocity[i * 2 + r] = v;
      }
    }
    baseRate = opts.baseRate ?? 12;
    modulation = opts.modulation ?? 0.6;
  } else {
    latentDim = REACH_LATENT_DIM;
    latentLabels = [...REACH_LATENT_LABELS];
    const r = simulateReaching(rngLatent, { bins, binMs, latentNoise: opts.latentNoise });
    latents = r.latents;
    velocity = r.velocity;
    position = r.position;
    trials = r.trials;
    baseRate = opts.baseRate ?? 14;
    modulation = opts.modulation ?? 0.5;
  }

  const trueLogRates = logRatesFromLatents(rngMap, latents, bins, latentDim, channels, baseRate, modulation);
  const counts = new Int16Array(bins * channels);
  for (let j = 0; j < counts.length; j++) counts[j] = Math.min(32767, rngSpikes.poisson(Math.exp(trueLogRates[j]) * dt));

  const timestamps = new Float64Array(bins);
  // Cumulative + 1/srate, exactly as an XDF reader deduces stamps, so the file can store them deduced.
  const step = 1 / (1000 / binMs);
  for (let i = 0; i < bins; i++) timestamps[i] = i === 0 ? origin : timestamps[i - 1] + step;
  return {
    kind, seed, binMs, timestamps, channels, counts, trueLogRates, latentDim, latents, latentLabels, velocity,
    velocityLabels: ['vel_x', 'vel_y'],
    position,
    channelLabels: simChannelLabels(channels),
    trialStarts: trials?.map((t) => t.startBin),
    trials,
  };
}

/** ch001, ch002, … (at least three digits), the simulator's channel labels. */
export function simChannelLabels(channels: number): string[] {
  const width = String(channels).length < 3 ? 3 : String(channels).length;
  return Array.from({ length: channels }, (_, c) => `ch${String(c + 1).padStart(width, '0')}`);
}

/** Mean firing rate over all bins and channels, Hz (from the counts). */
export function meanRateHz(s: SimulatedSession): number {
  let n = 0;
  for (let j = 0; j < s.counts.length; j++) n += s.counts[j];
  return n / (s.counts.length * (s.binMs / 1000));
}
