/**
 * Held-out evaluation: the calibrated model through the OnlineFilter bin by bin over the whole
 * held-out block (from a reset, continuously, as the daemon runs it), against a Wiener filter and
 * a Kalman filter fitted on the same training bins; bits per spike; rate R² against the truth.
 */
import type { Baselines as StoredBaselines } from '../model/baselines.js';
import type { LangevinModel } from '../model/model-file.js';
import { OnlineFilter } from '../model/filter.js';
import type { KalmanState } from '../model/baselines.js';
import { fitKalman, kalmanToStored, runKalman } from './kalman.js';
import { applyAffine, hcat, lagged, mat, mean, r2, ridgeCv, selectRows, type Mat } from './linear.js';

export interface R2Result { perAxis: number[]; mean: number }

export interface Baselines {
  wiener: R2Result & { lags: number; alpha: number; cvR2: number };
  kalman: R2Result & { state: string[] };
  /** Held-out predictions, for the plots. */
  wienerPred: Mat;
  kalmanPred: Mat;
  /** Both as the model file stores them (model/baselines.ts); the predictions above are theirs. */
  stored: StoredBaselines;
}

export interface ModelEval {
  velocity: R2Result;
  bitsPerSpike: number;
  /** Mean over channels of R² of exp(log-rate) against the true rate; null without ground truth. */
  rateR2: number | null;
  /** Velocity and log-rate predictions over the block. */
  velocityPred: Mat;
  logRates: Mat;
}

const r2Labelled = (Y: Mat, P: Mat, labelled: boolean[]): R2Result => {
  const perAxis = r2(selectRows(Y, labelled), selectRows(P, labelled));
  return { perAxis, mean: mean(perAxis) };
};

/** Runs the model's OnlineFilter over counts from a reset. */
export function runFilter(model: LangevinModel, counts: Mat): { velocity: Mat; logRates: Mat } {
  const f = new OnlineFilter(model);
  const K = model.config.velocity_labels.length;
  const nOut = model.config.n_out;
  const vel = new Float32Array(counts.rows * K);
  const lr = new Float32Array(counts.rows * nOut);
  for (let t = 0; t < counts.rows; t++) {
    const s = f.step(counts.data.subarray(t * counts.cols, (t + 1) * counts.cols));
    vel.set(s.velocity, t * K);
    lr.set(s.logRates, t * nOut);
  }
  return { velocity: mat(vel, counts.rows, K), logRates: mat(lr, counts.rows, nOut) };
}

function lgamma1(x: number): number {
  // log(x!) for small integer counts, exact by summation (counts per bin are small).
  let s = 0;
  for (let i = 2; i <= x; i++) s += Math.log(i);
  return s;
}

/** Poisson log-likelihood improvement over per-channel mean rates, in bits per spike. */
export function bitsPerSpike(counts: Mat, logRates: Mat, meanRates: Float64Array): number {
  let ll = 0;
  let ll0 = 0;
  let spikes = 0;
  const N = counts.cols;
  for (let t = 0; t < counts.rows; t++) for (let i = 0; i < N; i++) {
    const x = counts.data[t * N + i];
    const l = logRates.data[t * logRates.cols + i];
    const m = Math.max(meanRates[i], 1e-9);
    const lg = lgamma1(x);
    ll += x * l - Math.exp(l) - lg;
    ll0 += x * Math.log(m) - m - lg;
    spikes += x;
  }
  return spikes > 0 ? (ll - ll0) / (spikes * Math.LN2) : 0;
}

/** Mean over channels of the R² of predicted rates against true rates (both exp of log-rates). */
export function rateR2(logRates: Mat, trueLogRates: Mat): number {
  const n = Math.min(logRates.cols, trueLogRates.cols);
  const P = new Float32Array(logRates.rows * n);
  const Y = new Float32Array(logRates.rows * n);
  for (let t = 0; t < logRates.rows; t++) for (let i = 0; i < n; i++) {
    P[t * n + i] = Math.exp(logRates.data[t * logRates.cols + i]);
    Y[t * n + i] = Math.exp(trueLogRates.data[t * trueLogRates.cols + i]);
  }
  return mean(r2(mat(Y, logRates.rows, n), mat(P, logRates.rows, n)));
}

export function evaluateModel(model: LangevinModel, test: { counts: Mat; velocity: Mat; labelled: boolean[]; trueLogRates: Mat | null }, meanRates: Float64Array): ModelEval {
  const { velocity, logRates } = runFilter(model, test.counts);
  return {
    velocity: r2Labelled(test.velocity, velocity, test.labelled),
    bitsPerSpike: bitsPerSpike(test.counts, logRates, meanRates),
    rateR2: test.trueLogRates ? rateR2(logRates, test.trueLogRates) : null,
    velocityPred: velocity,
    logRates,
  };
}

export interface Split { counts: Mat; velocity: Mat; position: Mat | null; labelled: boolean[] }

/** Wiener (lags and alpha by CV on the training part) and Kalman baselines. */
export function baselines(train: Split, test: Split, positionLabels: string[], velocityLabels: string[], log?: (s: string) => void, kalmanState: KalmanState = 'velocity'): Baselines {
  let best: { lags: number; cv: ReturnType<typeof ridgeCv> } | null = null;
  for (const lags of [1, 3, 5]) {
    const cv = ridgeCv(lagged(train.counts, lags), train.velocity, { valid: train.labelled });
    log?.(`Wiener ${lags} lag(s): CV R² ${cv.cvR2.toFixed(3)} (alpha ${cv.alpha})`);
    if (!best || cv.cvR2 > best.cv.cvR2) best = { lags, cv };
  }
  const wienerPred = applyAffine(best!.cv.fit, lagged(test.counts, best!.lags));
  const wiener = { ...r2Labelled(test.velocity, wienerPred, test.labelled), lags: best!.lags, alpha: best!.cv.alpha, cvR2: best!.cv.cvR2 };

  // Kalman: [position…, velocity…, 1] only when asked for and positions were recorded.
  const position = kalmanState === 'position-velocity' ? train.position : null;
  const kinTrain = position ? hcat([position, train.velocity]) : train.velocity;
  const km = fitKalman(kinTrain, train.counts, train.labelled);
  const states = runKalman(km, test.counts);
  const K = test.velocity.cols;
  const off = position ? position.cols : 0;
  const kp = new Float32Array(test.counts.rows * K);
  for (let t = 0; t < test.counts.rows; t++) for (let k = 0; k < K; k++) kp[t * K + k] = states.data[t * states.cols + off + k];
  const kalmanPred = mat(kp, test.counts.rows, K);
  const kalman = { ...r2Labelled(test.velocity, kalmanPred, test.labelled), state: [...(position ? positionLabels : []), ...velocityLabels] };
  const stored: StoredBaselines = {
    wiener: { lags: best!.lags, weight: best!.cv.fit.weight, bias: best!.cv.fit.bias, alpha: best!.cv.alpha, cvR2: best!.cv.cvR2 },
    kalman: kalmanToStored(km, kalman.state, off),
  };
  return { wiener, kalman, wienerPred, kalmanPred, stored };
}
