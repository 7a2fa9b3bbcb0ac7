/**
 * The velocity readout (model.md §7): causal features from the model run continuously bin by bin
 * through the OnlineFilter itself (so training-time features are exactly the daemon's), ridge
 * with cross-validated alpha, and a choice among feature sets made on the training part only.
 */
import type { FeatureSource, ModelConfig, VelocityFeatures } from '../model/config.js';
import { dims } from '../model/config.js';
import { OnlineFilter } from '../model/filter.js';
import { makeModel } from '../model/model-file.js';
import { CalibrationError } from './errors.js';
import { hcat, lagged, mat, type Mat, ridgeCv, type RidgeCv } from './linear.js';

export type SourceMats = Record<FeatureSource, Mat>;

/**
 * Every per-bin quantity a readout may use, from the filter stepped over counts from a reset.
 * h and o are not part of the filter's step output, so a throw-away copy of the model whose
 * velocity readout is the identity on [h, o] exposes them.
 */
export function streamFeatures(cfg: ModelConfig, weights: Record<string, Float32Array>, counts: Mat): SourceMats {
  const { H, d, D, nOut } = dims(cfg);
  const p = H + d;
  const probeCfg: ModelConfig = {
    ...cfg,
    velocity_features: { sources: ['h', 'o'], lags: 1 },
    velocity_labels: Array.from({ length: p }, (_, i) => `f${i}`),
  };
  const eye = new Float32Array(p * p);
  for (let i = 0; i < p; i++) eye[i * p + i] = 1;
  const model = makeModel(probeCfg, { ...weights, 'velocity.weight': eye, 'velocity.bias': new Float32Array(p) });
  const f = new OnlineFilter(model);
  const T = counts.rows;
  const out = {
    rates: new Float32Array(T * nOut), log_rates: new Float32Array(T * nOut), z: new Float32Array(T * D),
    v: new Float32Array(T * D), h: new Float32Array(T * H), o: new Float32Array(T * d),
  };
  const N = counts.cols;
  for (let t = 0; t < T; t++) {
    const s = f.step(counts.data.subarray(t * N, (t + 1) * N));
    out.log_rates.set(s.logRates, t * nOut);
    for (let i = 0; i < nOut; i++) out.rates[t * nOut + i] = Math.exp(s.logRates[i]);
    out.z.set(s.z, t * D);
    out.v.set(s.v, t * D);
    out.h.set(s.velocity.subarray(0, H), t * H);
    out.o.set(s.velocity.subarray(H, p), t * d);
  }
  return {
    rates: mat(out.rates, T, nOut), log_rates: mat(out.log_rates, T, nOut), z: mat(out.z, T, D),
    v: mat(out.v, T, D), h: mat(out.h, T, H), o: mat(out.o, T, d),
  };
}

/** The readout's design matrix: sources concatenated per lag, lag 0 first (the filter's order). */
export function designMatrix(src: SourceMats, vf: VelocityFeatures): Mat {
  return lagged(hcat(vf.sources.map((s) => src[s])), vf.lags);
}

/** Feature sets tried, simplest first; the first is the default of model.md §7. */
export function candidateFeatures(window: number): VelocityFeatures[] {
  const c: VelocityFeatures[] = [
    { sources: ['rates'], lags: 1 },
    { sources: ['rates'], lags: 5 },
    { sources: ['rates', 'z', 'v', 'h'], lags: 1 },
    { sources: ['rates', 'z', 'v', 'h'], lags: 3 },
    { sources: ['log_rates', 'h'], lags: 3 },
    { sources: ['rates', 'h'], lags: 5 },
  ];
  return c.filter((v) => v.lags <= window);
}

export interface ReadoutChoice {
  features: VelocityFeatures;
  ridge: RidgeCv;
  /** CV R² of every candidate, for the report. */
  candidates: { features: VelocityFeatures; cvR2: number; alpha: number }[];
}

/**
 * Fits every candidate by ridge with CV alpha on the training rows and keeps the best CV R²;
 * a richer set must beat the plain-rates readout by a margin (0.005) to be chosen.
 */
export function chooseReadout(src: SourceMats, velocity: Mat, labelled: boolean[], window: number, log?: (s: string) => void): ReadoutChoice {
  let best: ReadoutChoice | null = null;
  const candidates: ReadoutChoice['candidates'] = [];
  for (const vf of candidateFeatures(window)) {
    const X = designMatrix(src, vf);
    if (!X.data.every(Number.isFinite)) {
      log?.(`readout [${vf.sources.join(', ')}] × ${vf.lags} lag(s): skipped, the features are not finite over the training run`);
      continue;
    }
    const ridge = ridgeCv(X, velocity, { valid: labelled });
    candidates.push({ features: vf, cvR2: ridge.cvR2, alpha: ridge.alpha });
    log?.(`readout [${vf.sources.join(', ')}] × ${vf.lags} lag(s): ${X.cols} features, CV R² ${ridge.cvR2.toFixed(3)} (alpha ${ridge.alpha})`);
    if (!best || ridge.cvR2 > best.ridge.cvR2 + 0.005) best = { features: vf, ridge, candidates };
  }
  if (!best) throw new CalibrationError('EDIVERGED', 'every readout feature set is non-finite over the continuous training run: the latent dynamics are unstable');
  return best;
}
