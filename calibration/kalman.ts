/**
 * The classic Kalman-filter decoder (Wu et al. 2003): kinematic state x_t = [kinematics…, 1],
 * x_t = A x_{t−1} + w (Q), counts y_t = C x_t + q (R), all fitted by least squares on the
 * training bins. Run causally over a block from the training mean state.
 */
import type { KalmanBaseline } from '../model/baselines.js';
import { informationTerms } from '../model/kalman-filter.js';
import { type Mat, mat, ridgeSolve } from './linear.js';

/** Least squares B = argmin ‖Y − X B‖² (+ tiny ridge for stability) for small p. */
function lstsq(X: Float64Array, Y: Float64Array, n: number, p: number, k: number, ridge = 1e-6): Float64Array {
  const G = new Float64Array(p * p);
  const R = new Float64Array(p * k);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < p; i++) {
      const xi = X[t * p + i];
      for (let j = 0; j < p; j++) G[i * p + j] += xi * X[t * p + j];
      for (let c = 0; c < k; c++) R[i * k + c] += xi * Y[t * k + c];
    }
  }
  for (let i = 0; i < p; i++) G[i * p + i] += ridge * (G[i * p + i] + 1);
  return solve(G, R, p, k);
}

/** A⁻¹B for symmetric positive definite A [p×p], B [p×k] (every A here is a covariance or a Gram matrix). */
const solve = (A: Float64Array, B: Float64Array, p: number, k: number): Float64Array => ridgeSolve(A, B, p, k, 0);

const matmul = (A: Float64Array, B: Float64Array, n: number, m: number, k: number): Float64Array => {
  const C = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let q = 0; q < m; q++) {
    const a = A[i * m + q];
    if (a === 0) continue;
    for (let j = 0; j < k; j++) C[i * k + j] += a * B[q * k + j];
  }
  return C;
};
const transpose = (A: Float64Array, n: number, m: number): Float64Array => {
  const T = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) T[j * n + i] = A[i * m + j];
  return T;
};
const eye = (p: number): Float64Array => { const I = new Float64Array(p * p); for (let i = 0; i < p; i++) I[i * p + i] = 1; return I; };

export interface KalmanModel {
  /** State size s = kinematic columns + 1. */
  s: number;
  n: number;
  /** The fitted parameters, rounded to F32 as the model file stores them (so that this evaluates what the daemon runs). */
  A: Float64Array; Q: Float64Array; C: Float64Array; R: Float64Array;
  /** Cᵀ R⁻¹ [s × n] and Cᵀ R⁻¹ C [s × s], precomputed for the information-form update. */
  CtRi: Float64Array; CtRiC: Float64Array;
  x0: Float64Array;
}

const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));

/** The model from parameters as stored (model/baselines.ts KalmanBaseline). */
export function kalmanFromStored(p: { A: ArrayLike<number>; Q: ArrayLike<number>; C: ArrayLike<number>; R: ArrayLike<number>; x0: ArrayLike<number> }, s: number, n: number): KalmanModel {
  const C = Float64Array.from(p.C);
  const { CtRi, CtRiC } = informationTerms(C, p.R, n, s);
  return { s, n, A: Float64Array.from(p.A), Q: Float64Array.from(p.Q), C, R: Float64Array.from(p.R), CtRi, CtRiC, x0: Float64Array.from(p.x0) };
}

/** The model as the model file stores it (model/baselines.ts); `state` labels the kinematic columns, velocity from `velocityOffset`. */
export function kalmanToStored(m: KalmanModel, state: string[], velocityOffset: number): KalmanBaseline {
  if (state.length !== m.s - 1) throw new RangeError(`kalman: ${state.length} state labels for a state of ${m.s - 1} kinematic columns`);
  return { state, velocityOffset, A: Float32Array.from(m.A), Q: Float32Array.from(m.Q), C: Float32Array.from(m.C), R: Float32Array.from(m.R), x0: Float32Array.from(m.x0) };
}

/**
 * The observation model alone: C by least squares of counts on states (rows of X end with the
 * constant 1), R the residual covariance, and the information-form products. ReFIT-KF refits
 * only this part on relabelled closed-loop bins. C and R come rounded to F32, as stored.
 */
export function fitObservation(X: Float64Array, Y: Float64Array, T: number, s: number, n: number): Pick<KalmanModel, 'C' | 'R' | 'CtRi' | 'CtRiC'> {
  const Ct = lstsq(X, Y, T, s, n); // [s × n]
  const C = transpose(Ct, s, n); // [n × s]
  const fitted = matmul(X, Ct, T, s, n);
  const R = new Float64Array(n * n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) {
    const ei = Y[t * n + i] - fitted[t * n + i];
    if (ei === 0) continue;
    for (let j = 0; j < n; j++) R[i * n + j] += (ei * (Y[t * n + j] - fitted[t * n + j])) / T;
  }
  for (let i = 0; i < n; i++) R[i * n + i] += 1e-6 + 1e-3 * R[i * n + i];
  // Rounded to F32 as the model file stores them, so that what is evaluated is what the daemon runs.
  const C32 = f32(C);
  const R32 = f32(R);
  return { C: C32, R: R32, ...informationTerms(C32, R32, n, s) };
}

/** Fits on training rows: kin [T × s−1] kinematic state, counts [T × n]. valid marks usable rows. */
export function fitKalman(kin: Mat, counts: Mat, valid?: ArrayLike<boolean>): KalmanModel {
  const s = kin.cols + 1;
  const n = counts.cols;
  const X: number[] = [];
  const Y: number[] = [];
  const Xp: number[] = [];
  const Xn: number[] = [];
  const state = (t: number): number[] => [...kin.data.subarray(t * kin.cols, (t + 1) * kin.cols), 1];
  for (let t = 0; t < kin.rows; t++) {
    if (valid && !valid[t]) continue;
    X.push(...state(t));
    Y.push(...counts.data.subarray(t * n, (t + 1) * n));
    if (t > 0 && (!valid || valid[t - 1])) { Xp.push(...state(t - 1)); Xn.push(...state(t)); }
  }
  const T = X.length / s;
  const Tp = Xp.length / s;
  // A: x_t ≈ x_{t−1} A' (rows), so A = A'ᵀ; the constant stays 1.
  const At = lstsq(Float64Array.from(Xp), Float64Array.from(Xn), Tp, s, s);
  const A = transpose(At, s, s);
  for (let j = 0; j < s; j++) A[(s - 1) * s + j] = j === s - 1 ? 1 : 0;
  const Q = new Float64Array(s * s);
  const pred = matmul(Float64Array.from(Xp), At, Tp, s, s);
  for (let t = 0; t < Tp; t++) for (let i = 0; i < s; i++) for (let j = 0; j < s; j++)
    Q[i * s + j] += (Xn[t * s + i] - pred[t * s + i]) * (Xn[t * s + j] - pred[t * s + j]) / Tp;
  for (let i = 0; i < s; i++) Q[i * s + i] += 1e-9;
  const { C, R } = fitObservation(Float64Array.from(X), Float64Array.from(Y), T, s, n);
  const x0 = new Float64Array(s);
  for (let t = 0; t < T; t++) for (let i = 0; i < s; i++) x0[i] += X[t * s + i] / T;
  return kalmanFromStored({ A: f32(A), Q: f32(Q), C, R, x0: f32(x0) }, s, n);
}

/** Runs the filter over counts [T × n]; returns the posterior state means without the constant [T × s−1]. */
export function runKalman(m: KalmanModel, counts: Mat): Mat {
  const { s, n, A, Q, C, CtRi, CtRiC } = m;
  let x: Float64Array<ArrayBufferLike> = Float64Array.from(m.x0);
  let P: Float64Array<ArrayBufferLike> = new Float64Array(s * s);
  const At = transpose(A, s, s);
  const out = new Float32Array(counts.rows * (s - 1));
  for (let t = 0; t < counts.rows; t++) {
    // Predict.
    const xp = matmul(A, x, s, s, 1);
    const Pp = matmul(matmul(A, P, s, s, s), At, s, s, s);
    for (let i = 0; i < s * s; i++) Pp[i] += Q[i];
    // Information-form update: P = (Pp⁻¹ + CᵀR⁻¹C)⁻¹, x = xp + P CᵀR⁻¹ (y − C xp).
    const Pinv = solve(Pp, eye(s), s, s);
    for (let i = 0; i < s * s; i++) Pinv[i] += CtRiC[i];
    P = solve(Pinv, eye(s), s, s);
    const resid = new Float64Array(n);
    const y = counts.data.subarray(t * n, (t + 1) * n);
    const Cx = matmul(C, xp, n, s, 1);
    for (let i = 0; i < n; i++) resid[i] = y[i] - Cx[i];
    const g = matmul(P, matmul(CtRi, resid, s, n, 1), s, s, 1);
    x = xp.map((v, i) => v + g[i]);
    x[s - 1] = 1;
    for (let i = 0; i < s - 1; i++) out[t * (s - 1) + i] = x[i];
  }
  return mat(out, counts.rows, s - 1);
}
