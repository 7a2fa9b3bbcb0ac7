/**
 * ReFIT's refits: ordinary regression on the relabelled bins. Both are pure: they take a model
 * and a block and return a new model; applying it live is the control plane's readout swap.
 *   - LangevinFlow: the velocity readout, ridge with cross-validated alpha over the filter's own
 *     causal features (the model's velocity_features), computed by running the OnlineFilter over
 *     the recorded bins from a reset as the daemon does; the latent model is left as it is.
 *   - ReFIT-KF: the Kalman filter's observation model (C, R) on [cursor position, intended
 *     velocity, 1]; the kinematic dynamics (A, Q) are kept.
 */
import { fitObservation, type KalmanModel } from '../../calibration/kalman.js';
import { applyAffine, mean, r2, ridgeCv, selectRows, type Mat } from '../../calibration/linear.js';
import { designMatrix, streamFeatures } from '../../calibration/readout.js';
import { makeModel, META_MODEL_ID, type LangevinModel } from '../../model/model-file.js';

export interface ReadoutRefit {
  model: LangevinModel;
  alpha: number;
  /** Cross-validated R² of the new readout against the intention. */
  cvR2: number;
  /** R² against the intention on the usable bins, old readout vs new (in-sample for the new). */
  before: number;
  after: number;
  bins: number;
  /** The least-squares fit's decoded speed ÷ the labels' on the reach bins, before any scaling. */
  fittedSpeed: number;
  /** The factor the fit was scaled by to keep the labels' speed (1: not scaled). */
  speedScale: number;
}

/**
 * Mean decoded speed ÷ mean label speed over the bins whose label moves (the reach: ReFIT's labels
 * carry the decoder's own speed there, and zero on the target).
 */
export function speedRatioOnReach(pred: Mat, labels: Mat): number {
  let sp = 0, sl = 0;
  for (let t = 0; t < labels.rows; t++) {
    const l = Math.hypot(labels.data[2 * t], labels.data[2 * t + 1]);
    if (!(l > 0)) continue;
    sl += l;
    sp += Math.hypot(pred.data[2 * t], pred.data[2 * t + 1]);
  }
  return sl > 0 ? sp / sl : NaN;
}

/**
 * keepSpeed (default true): ReFIT keeps the decoder's speed in its labels, but a least-squares
 * readout fitted to them does not: the on-target zeros, where the population still carries the
 * user's last push, and the ridge both pull its gain down (measured with the simulated user: the
 * refit decoded 0.48–0.54 of the true speed on its own block where the old readout had decoded
 * 0.67–0.77, and the next block took 1.4–1.95 s per target instead of 0.78–1.0). So the fitted map is
 * scaled to decode the labels' speed on the reach bins; its direction is the fit's.
 */
export function refitReadout(model: LangevinModel, counts: Mat, intention: Mat, valid: readonly boolean[], metadata: Record<string, string> = {}, opts: { keepSpeed?: boolean } = {}): ReadoutRefit {
  const cfg = model.config;
  if (intention.cols !== cfg.velocity_labels.length) throw new RangeError(`refit: the intention has ${intention.cols} axes, the model ${cfg.velocity_labels.length}`);
  const X = designMatrix(streamFeatures(cfg, model.weights, counts), cfg.velocity_features);
  const cv = ridgeCv(X, intention, { valid });
  const Y = selectRows(intention, valid);
  const Xv = selectRows(X, valid);
  let fit = cv.fit;
  const fittedSpeed = intention.cols === 2 ? speedRatioOnReach(applyAffine(fit, Xv), Y) : NaN;
  const speedScale = (opts.keepSpeed ?? true) && fittedSpeed > 0 ? 1 / fittedSpeed : 1;
  if (speedScale !== 1) fit = { ...fit, weight: fit.weight.map((w) => w * speedScale), bias: fit.bias.map((b) => b * speedScale) };
  const old = { weight: model.weights['velocity.weight'], bias: model.weights['velocity.bias'], inputs: X.cols, outputs: intention.cols };
  const before = mean(r2(Y, applyAffine(old, Xv)));
  const after = mean(r2(Y, applyAffine(fit, Xv)));
  // A stated model id belongs to the old weights; the new model gets its content hash.
  const { [META_MODEL_ID]: _oldId, ...kept } = model.metadata;
  const next = makeModel(cfg, { ...model.weights, 'velocity.weight': fit.weight, 'velocity.bias': fit.bias }, { ...kept, ...metadata }, model.baselines);
  return { model: next, alpha: cv.alpha, cvR2: cv.cvR2, before, after, bins: Y.rows, fittedSpeed, speedScale };
}

/**
 * ReFIT-KF: a new observation model from closed-loop bins. kin [T × s−1] is the Kalman state
 * without its constant (e.g. [pos_x, pos_y, int_x, int_y]: the cursor and the intention), in
 * the model's state order; counts [T × n].
 */
export function refitKalmanObservation(km: KalmanModel, kin: Mat, counts: Mat, valid: readonly boolean[]): KalmanModel {
  const { s, n } = km;
  if (kin.cols !== s - 1 || counts.cols !== n || kin.rows !== counts.rows || valid.length !== kin.rows)
    throw new RangeError(`refit-KF: expected states [T × ${s - 1}] and counts [T × ${n}] with one T; got [${kin.rows} × ${kin.cols}], [${counts.rows} × ${counts.cols}], ${valid.length} flags`);
  let T = 0;
  for (let t = 0; t < kin.rows; t++) if (valid[t]) T++;
  const X = new Float64Array(T * s);
  const Y = new Float64Array(T * n);
  for (let t = 0, j = 0; t < kin.rows; t++) {
    if (!valid[t]) continue;
    for (let i = 0; i < s - 1; i++) X[j * s + i] = kin.data[t * kin.cols + i];
    X[j * s + s - 1] = 1;
    for (let i = 0; i < n; i++) Y[j * n + i] = counts.data[t * n + i];
    j++;
  }
  return { ...km, ...fitObservation(X, Y, T, s, n) };
}

