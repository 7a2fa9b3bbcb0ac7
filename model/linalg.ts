/**
 * The project's one linear solver, a Float64 Cholesky, written to run on buffers the caller
 * owns so that the real-time bin path (the Kalman filter's covariance update) allocates nothing;
 * calibration/linear.ts ridgeSolve is this with fresh buffers.
 */

/**
 * Solves (G + αI) W = R for symmetric positive definite G [p×p], R [p×k], row-major. Scratch:
 * L [p×p] (the factor; only its lower triangle is used), y [p]; the result goes to W [p×k].
 * A pivot that is not positive is clamped (1e-12) rather than thrown on: every G here is a
 * covariance or Gram matrix, and a filter in the bin path must keep running.
 */
export function choleskySolve(G: ArrayLike<number>, R: ArrayLike<number>, p: number, k: number, alpha: number, L: Float64Array, y: Float64Array, W: Float64Array): void {
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[i * p + j] + (i === j ? alpha : 0);
      const ri = i * p;
      const rj = j * p;
      for (let q = 0; q < j; q++) s -= L[ri + q] * L[rj + q];
      if (i === j) L[ri + i] = Math.sqrt(Math.max(s, 1e-12));
      else L[ri + j] = s / L[rj + j];
    }
  }
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < p; i++) {
      let s = R[i * k + c];
      for (let q = 0; q < i; q++) s -= L[i * p + q] * y[q];
      y[i] = s / L[i * p + i];
    }
    for (let i = p - 1; i >= 0; i--) {
      let s = y[i];
      for (let q = i + 1; q < p; q++) s -= L[q * p + i] * W[q * k + c];
      W[i * k + c] = s / L[i * p + i];
    }
  }
}
