/**
 * Linear decoders on row-major Float32 data: ridge regression with cross-validated alpha (also the
 * Wiener filter: ridge on lagged counts), R². Gram matrices go through TensorFlow.js (XNNPACK),
 * the small solves through a Float64 Cholesky in plain TypeScript (ridgeSolve, also used by the Kalman filter).
 */
import { choleskySolve } from '../model/linalg.js';
import { tf } from './backend.js';
import { RunningR2 } from '../report/stats.js';

/** A row-major matrix view: rows × cols. */
export interface Mat { data: Float32Array; rows: number; cols: number }

export const mat = (data: Float32Array, rows: number, cols: number): Mat => {
  if (data.length !== rows * cols) throw new RangeError(`matrix data has ${data.length} values, expected ${rows}×${cols}`);
  return { data, rows, cols };
};

/** Rows [from, to) of m (a view, no copy). */
export const rowSlice = (m: Mat, from: number, to: number): Mat => mat(m.data.subarray(from * m.cols, to * m.cols), to - from, m.cols);

/** Keeps the rows where keep[i] is true (copy). */
export function selectRows(m: Mat, keep: ArrayLike<boolean>): Mat {
  let n = 0;
  for (let i = 0; i < m.rows; i++) if (keep[i]) n++;
  const out = new Float32Array(n * m.cols);
  for (let i = 0, j = 0; i < m.rows; i++) if (keep[i]) out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), (j++) * m.cols);
  return mat(out, n, m.cols);
}

/** Side-by-side concatenation of matrices with equal rows. */
export function hcat(ms: Mat[]): Mat {
  const rows = ms[0].rows;
  const cols = ms.reduce((a, m) => a + m.cols, 0);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let o = i * cols;
    for (const m of ms) {
      out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), o);
      o += m.cols;
    }
  }
  return mat(out, rows, cols);
}

/** [x_t, x_{t−1}, …, x_{t−lags+1}] per row; lags before row 0 are zero (as the filter after a reset). */
export function lagged(m: Mat, lags: number): Mat {
  const p = m.cols * lags;
  const out = new Float32Array(m.rows * p);
  for (let t = 0; t < m.rows; t++)
    for (let l = 0; l < lags && l <= t; l++) out.set(m.data.subarray((t - l) * m.cols, (t - l + 1) * m.cols), t * p + l * m.cols);
  return mat(out, m.rows, p);
}

/** Column means and standard deviations (a constant column gets std 1). */
export function colStats(m: Mat): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(m.cols);
  const sq = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) { const v = m.data[o + j]; mean[j] += v; sq[j] += v * v; }
  }
  const std = new Float64Array(m.cols);
  for (let j = 0; j < m.cols; j++) {
    mean[j] /= m.rows;
    const v = sq[j] / m.rows - mean[j] * mean[j];
    std[j] = v > 1e-12 ? Math.sqrt(v) : 1;
  }
  return { mean, std };
}

/** Aᵀ B with TF.js; returns Float64Array [A.cols × B.cols]. */
export function crossProduct(A: Mat, B: Mat): Float64Array {
  const prod = tf.tidy(() => {
    const a = tf.tensor2d(A.data, [A.rows, A.cols]);
    const b = A === B ? a : tf.tensor2d(B.data, [B.rows, B.cols]);
    // An explicit transpose: matMul's transposeA path on the wasm backend is ~10× slower.
    return tf.matMul(tf.transpose(a), b);
  });
  const out = Float64Array.from(prod.dataSync());
  prod.dispose();
  return out;
}

/**
 * The project's one linear solver: (G + αI) W = R for symmetric positive definite G [p×p],
 * R [p×k], by Float64 Cholesky (model/linalg.ts, which the online Kalman filter runs on its own
 * buffers). Every system langevind solves is SPD (ridge Gram matrices, the Kalman filter's
 * covariances and their inverses), so one Cholesky serves them all.
 */
export function ridgeSolve(G: Float64Array, R: Float64Array, p: number, k: number, alpha: number): Float64Array {
  const W = new Float64Array(p * k);
  choleskySolve(G, R, p, k, alpha, new Float64Array(p * p), new Float64Array(p), W);
  return W;
}

/** R² per output column of prediction P against truth Y: report/stats.ts's one definition, per column. */
export function r2(Y: Mat, P: Mat): number[] {
  const acc = new RunningR2(Y.cols);
  for (let i = 0; i < Y.rows; i++) for (let c = 0; c < Y.cols; c++) acc.add(c, P.data[i * P.cols + c], Y.data[i * Y.cols + c]);
  return Array.from({ length: Y.cols }, (_, c) => acc.r2(c));
}

export const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;

/** A fitted affine map y = W x + b, W [k × p] row-major (PyTorch Linear layout). */
export interface Affine { weight: Float32Array; bias: Float32Array; inputs: number; outputs: number }

export function applyAffine(f: Affine, X: Mat): Mat {
  const out = new Float32Array(X.rows * f.outputs);
  for (let i = 0; i < X.rows; i++) {
    const o = i * X.cols;
    for (let c = 0; c < f.outputs; c++) {
      let s = f.bias[c];
      const w = c * f.inputs;
      for (let j = 0; j < f.inputs; j++) s += f.weight[w + j] * X.data[o + j];
      out[i * f.outputs + c] = s;
    }
  }
  return mat(out, X.rows, f.outputs);
}

/**
 * Ridge on standardised features, with the standardisation folded back into the weights so the
 * result applies to raw features. G, R are the raw moments; n rows; mean/std of X and mean of Y.
 */
function fitFromMoments(XtX: Float64Array, XtY: Float64Array, sx: Float64Array, sy: Float64Array, n: number, p: number, k: number, alpha: number): Affine {
  const mx = sx.map((v) => v / n);
  const my = sy.map((v) => v / n);
  const std = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const v = XtX[j * p + j] / n - mx[j] * mx[j];
    std[j] = v > 1e-12 ? Math.sqrt(v) : 1;
  }
  // Covariances of standardised X, and with centred Y, divided by n so alpha is per sample.
  const G = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) G[i * p + j] = (XtX[i * p + j] / n - mx[i] * mx[j]) / (std[i] * std[j]);
  const R = new Float64Array(p * k);
  for (let i = 0; i < p; i++) for (let c = 0; c < k; c++) R[i * k + c] = (XtY[i * k + c] / n - mx[i] * my[c]) / std[i];
  const Ws = ridgeSolve(G, R, p, k, alpha);
  const weight = new Float32Array(k * p);
  const bias = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let b = my[c];
    for (let j = 0; j < p; j++) {
      const w = Ws[j * k + c] / std[j];
      weight[c * p + j] = w;
      b -= w * mx[j];
    }
    bias[c] = b;
  }
  return { weight, bias, inputs: p, outputs: k };
}

export interface RidgeCv {
  fit: Affine;
  alpha: number;
  /** Mean CV R² (over folds and outputs) of the chosen alpha. */
  cvR2: number;
  /** CV R² for each alpha tried. */
  curve: { alpha: number; r2: number }[];
}

export const DEFAULT_ALPHAS = [1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3, 10];

/**
 * Ridge with alpha chosen by k-fold cross-validation over contiguous blocks of rows (time series:
 * neighbouring bins are correlated, so random folds would leak). Rows with valid[i] false are
 * left out of every fit and score. The final fit uses all valid rows.
 */
export function ridgeCv(X: Mat, Y: Mat, opts: { folds?: number; alphas?: number[]; valid?: ArrayLike<boolean> } = {}): RidgeCv {
  const folds = opts.folds ?? 5;
  const alphas = opts.alphas ?? DEFAULT_ALPHAS;
  const p = X.cols;
  const k = Y.cols;
  const valid = opts.valid;
  const Xraw = valid ? selectRows(X, valid) : X;
  const Yv = valid ? selectRows(Y, valid) : Y;
  const n = Xraw.rows;
  // Standardise first (Float64 statistics): the Gram matrices are Float32 products, and raw
  // features on very different scales lose the small ones to rounding.
  const st = colStats(Xraw);
  const Xv = mat(new Float32Array(Xraw.data.length), n, p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) Xv.data[i * p + j] = (Xraw.data[i * p + j] - st.mean[j]) / st.std[j];
  if (n < folds * 2) throw new RangeError(`ridge: ${n} rows are too few for ${folds}-fold cross-validation`);
  const moments = (from: number, to: number) => {
    const Xs = rowSlice(Xv, from, to);
    const Ys = rowSlice(Yv, from, to);
    const sx = new Float64Array(p);
    const sy = new Float64Array(k);
    for (let i = 0; i < Xs.rows; i++) {
      for (let j = 0; j < p; j++) sx[j] += Xs.data[i * p + j];
      for (let c = 0; c < k; c++) sy[c] += Ys.data[i * k + c];
    }
    return { XtX: crossProduct(Xs, Xs), XtY: crossProduct(Xs, Ys), sx, sy, n: Xs.rows };
  };
  const bounds = Array.from({ length: folds + 1 }, (_, f) => Math.round((f * n) / folds));
  const parts = Array.from({ length: folds }, (_, f) => moments(bounds[f], bounds[f + 1]));
  const total = parts.reduce((a, m) => ({
    XtX: a.XtX.map((v, i) => v + m.XtX[i]), XtY: a.XtY.map((v, i) => v + m.XtY[i]),
    sx: a.sx.map((v, i) => v + m.sx[i]), sy: a.sy.map((v, i) => v + m.sy[i]), n: a.n + m.n,
  }));
  const curve = alphas.map((alpha) => {
    let acc = 0;
    for (let f = 0; f < folds; f++) {
      const m = parts[f];
      const fit = fitFromMoments(
        total.XtX.map((v, i) => v - m.XtX[i]), total.XtY.map((v, i) => v - m.XtY[i]),
        total.sx.map((v, i) => v - m.sx[i]), total.sy.map((v, i) => v - m.sy[i]), total.n - m.n, p, k, alpha);
      const Xf = rowSlice(Xv, bounds[f], bounds[f + 1]);
      acc += mean(r2(rowSlice(Yv, bounds[f], bounds[f + 1]), applyAffine(fit, Xf)));
    }
    return { alpha, r2: acc / folds };
  });
  const best = curve.reduce((a, b) => (b.r2 > a.r2 || !Number.isFinite(a.r2) ? b : a));
  const z = fitFromMoments(total.XtX, total.XtY, total.sx, total.sy, total.n, p, k, best.alpha);
  // Back to raw features: w_raw = w / std, b_raw = b − Σ w_raw · mean.
  const weight = new Float32Array(k * p);
  const bias = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let b = z.bias[c];
    for (let j = 0; j < p; j++) {
      const w = z.weight[c * p + j] / st.std[j];
      weight[c * p + j] = w;
      b -= w * st.mean[j];
    }
    bias[c] = b;
  }
  return { fit: { weight, bias, inputs: p, outputs: k }, alpha: best.alpha, cvR2: best.r2, curve };
}
