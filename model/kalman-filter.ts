/**
 * The velocity Kalman filter (Wu et al. 2003) as the daemon runs it, one bin at a time:
 * state x = [kinematics…, 1], x_t = A x_t−1 + w (Q), counts y_t = C x_t + q (R), with the full
 * covariance update in information form each bin (the state is small: s ≤ 5 for 2-D position and
 * velocity), so its output equals calibration/kalman.ts runKalman over the same bins.
 *
 * Real-time discipline as in filter.ts: every buffer is allocated at construction; stepUnchecked()
 * allocates nothing and does no I/O.
 */
import type { KalmanBaseline } from './baselines.js';
import { validateCounts } from './filter.js';
import { InputError } from './errors.js';
import { choleskySolve } from './linalg.js';

/**
 * Cᵀ R⁻¹ [s × n] and Cᵀ R⁻¹ C [s × s] from C [n × s] and R [n × n] (the information-form terms,
 * fixed for a model). The one computation of them, for this filter and for calibration's.
 */
export function informationTerms(C: ArrayLike<number>, R: ArrayLike<number>, n: number, s: number): { CtRi: Float64Array; CtRiC: Float64Array } {
  const RiC = new Float64Array(n * s);
  choleskySolve(R, C, n, s, 0, new Float64Array(n * n), new Float64Array(n), RiC);
  const CtRi = new Float64Array(s * n);
  for (let q = 0; q < n; q++) for (let i = 0; i < s; i++) CtRi[i * n + q] = RiC[q * s + i];
  const CtRiC = new Float64Array(s * s);
  for (let i = 0; i < s; i++) for (let q = 0; q < n; q++) {
    const a = CtRi[i * n + q];
    if (a === 0) continue;
    for (let j = 0; j < s; j++) CtRiC[i * s + j] += a * C[q * s + j];
  }
  return { CtRi, CtRiC };
}

export class KalmanFilter {
  readonly kind = 'kalman';
  private readonly s: number;
  private readonly n: number;
  private readonly off: number;
  private readonly A: Float64Array;
  private readonly At: Float64Array;
  private readonly Q: Float64Array;
  private readonly C: Float64Array;
  private readonly CtRi: Float64Array;
  private readonly CtRiC: Float64Array;
  private readonly x0: Float64Array;
  // State and scratch.
  private readonly x: Float64Array;
  private readonly P: Float64Array;
  private readonly xp: Float64Array;
  private readonly AP: Float64Array;
  private readonly Pp: Float64Array;
  private readonly Pinv: Float64Array;
  private readonly eye: Float64Array;
  private readonly L: Float64Array;
  private readonly ys: Float64Array;
  private readonly resid: Float64Array;
  private readonly u: Float64Array;
  private readonly velocity: Float32Array;
  private readonly out: { velocity: Float32Array };

  /** b as stored in the model file; velocity components `velocityOffset…+K−1` of the state are the output. */
  constructor(b: KalmanBaseline, nIn: number, velocityDim: number) {
    const s = b.state.length + 1;
    const n = nIn;
    if (b.A.length !== s * s || b.Q.length !== s * s || b.C.length !== n * s || b.R.length !== n * n || b.x0.length !== s)
      throw new RangeError(`kalman: parameter sizes do not fit a state of ${s} and ${n} channels`);
    if (b.velocityOffset + velocityDim > b.state.length) throw new RangeError(`kalman: velocity ${b.velocityOffset}…${b.velocityOffset + velocityDim - 1} is outside the state [${b.state.join(', ')}]`);
    this.s = s;
    this.n = n;
    this.off = b.velocityOffset;
    this.A = Float64Array.from(b.A);
    this.At = new Float64Array(s * s);
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) this.At[j * s + i] = this.A[i * s + j];
    this.Q = Float64Array.from(b.Q);
    this.C = Float64Array.from(b.C);
    const { CtRi, CtRiC } = informationTerms(this.C, b.R, n, s);
    this.CtRi = CtRi;
    this.CtRiC = CtRiC;
    this.x0 = Float64Array.from(b.x0);
    this.x = new Float64Array(s);
    this.P = new Float64Array(s * s);
    this.xp = new Float64Array(s);
    this.AP = new Float64Array(s * s);
    this.Pp = new Float64Array(s * s);
    this.Pinv = new Float64Array(s * s);
    this.eye = new Float64Array(s * s);
    for (let i = 0; i < s; i++) this.eye[i * s + i] = 1;
    this.L = new Float64Array(s * s);
    this.ys = new Float64Array(s);
    this.resid = new Float64Array(n);
    this.u = new Float64Array(s);
    this.velocity = new Float32Array(velocityDim);
    this.out = { velocity: this.velocity };
    this.reset();
  }

  /** Back to the training mean state with zero covariance (what runKalman starts from). */
  reset(): void {
    this.x.set(this.x0);
    this.P.fill(0);
    this.velocity.fill(0);
  }

  /**
   * Continues from another Kalman filter's state (x, P) as if it had decoded the bins so far: a
   * hot swap of the observation model (ReFIT-KF) between two bins, without the jump back to the
   * mean state a reset would make. Same state size only (RangeError otherwise).
   */
  carryFrom(other: KalmanFilter): void {
    if (other.s !== this.s || other.off !== this.off) throw new RangeError(`kalman: cannot carry a state of ${other.s - 1} (velocity at ${other.off}) into one of ${this.s - 1} (velocity at ${this.off})`);
    this.x.set(other.x);
    this.P.set(other.P);
    this.velocity.set(other.velocity);
  }

  /** Checks the counts (InputError naming the problem), then steps. */
  step(counts: ArrayLike<number>): { velocity: Float32Array } {
    const bad = validateCounts(counts, this.n);
    if (bad !== null) throw new InputError(bad);
    return this.stepUnchecked(counts);
  }

  /**
   * One bin. The loops keep runKalman's order of operations (and its skipping of zero factors),
   * so both give the same numbers. The output is a view, overwritten by the next step.
   */
  stepUnchecked(counts: ArrayLike<number>): { velocity: Float32Array } {
    const { s, n, A, At, Q, C, CtRi, CtRiC, x, P, xp, AP, Pp, Pinv, L, ys, resid, u } = this;
    // Predict: xp = A x, Pp = A P Aᵀ + Q.
    for (let i = 0; i < s; i++) {
      let acc = 0;
      for (let q = 0; q < s; q++) { const a = A[i * s + q]; if (a !== 0) acc += a * x[q]; }
      xp[i] = acc;
    }
    AP.fill(0);
    for (let i = 0; i < s; i++) for (let q = 0; q < s; q++) {
      const a = A[i * s + q];
      if (a === 0) continue;
      for (let j = 0; j < s; j++) AP[i * s + j] += a * P[q * s + j];
    }
    Pp.fill(0);
    for (let i = 0; i < s; i++) for (let q = 0; q < s; q++) {
      const a = AP[i * s + q];
      if (a === 0) continue;
      for (let j = 0; j < s; j++) Pp[i * s + j] += a * At[q * s + j];
    }
    for (let i = 0; i < s * s; i++) Pp[i] += Q[i];
    // Update: P = (Pp⁻¹ + CᵀR⁻¹C)⁻¹, x = xp + P CᵀR⁻¹ (y − C xp).
    choleskySolve(Pp, this.eye, s, s, 0, L, ys, Pinv);
    for (let i = 0; i < s * s; i++) Pinv[i] += CtRiC[i];
    choleskySolve(Pinv, this.eye, s, s, 0, L, ys, P);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let q = 0; q < s; q++) { const a = C[i * s + q]; if (a !== 0) acc += a * xp[q]; }
      resid[i] = counts[i] - acc;
    }
    for (let i = 0; i < s; i++) {
      let acc = 0;
      for (let q = 0; q < n; q++) { const a = CtRi[i * n + q]; if (a !== 0) acc += a * resid[q]; }
      u[i] = acc;
    }
    for (let i = 0; i < s; i++) {
      let acc = 0;
      for (let q = 0; q < s; q++) { const a = P[i * s + q]; if (a !== 0) acc += a * u[q]; }
      x[i] = xp[i] + acc;
    }
    x[s - 1] = 1;
    const v = this.velocity;
    for (let k = 0; k < v.length; k++) v[k] = x[this.off + k];
    return this.out;
  }
}
