import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { bitsPerSpike, rateR2 } from '../../calibration/evaluate.js';
import { fitKalman, runKalman } from '../../calibration/kalman.js';
import { applyAffine, lagged, mat, r2, ridgeCv, rowSlice } from '../../calibration/linear.js';
import { gaussian, mulberry32, poisson } from '../../model/init.js';

describe('linear decoders', () => {
  before(async () => { await useBackend('wasm'); });

  test('ridge with CV recovers a known linear map and picks a small alpha on clean data', () => {
    const rand = mulberry32(1);
    const n = 2000, p = 6, k = 2;
    const W = [[1, -2, 0.5, 0, 0, 3], [0, 1, 1, -1, 2, 0]];
    const X = new Float32Array(n * p).map(() => gaussian(rand) * 3 + 1);
    const Y = new Float32Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) {
      let s = c === 0 ? 0.7 : -0.2;
      for (let j = 0; j < p; j++) s += W[c][j] * X[i * p + j];
      Y[i * k + c] = s + 0.01 * gaussian(rand);
    }
    const cv = ridgeCv(mat(X, n, p), mat(Y, n, k));
    for (let c = 0; c < k; c++) for (let j = 0; j < p; j++) assert.ok(Math.abs(cv.fit.weight[c * p + j] - W[c][j]) < 0.01, `w[${c}][${j}] = ${cv.fit.weight[c * p + j]}`);
    assert.ok(Math.abs(cv.fit.bias[0] - 0.7) < 0.02 && Math.abs(cv.fit.bias[1] + 0.2) < 0.02);
    assert.ok(cv.cvR2 > 0.999);
    assert.ok(cv.alpha <= 1e-2, `alpha ${cv.alpha}`);
  });

  test('CV prefers strong regularisation when features are noise', () => {
    const rand = mulberry32(2);
    const n = 600, p = 80;
    const X = new Float32Array(n * p).map(() => gaussian(rand));
    const Y = new Float32Array(n).map(() => gaussian(rand));
    const cv = ridgeCv(mat(X, n, p), mat(Y, n, 1));
    assert.ok(cv.alpha >= 1, `alpha ${cv.alpha}`);
    assert.ok(cv.cvR2 < 0.05);
  });

  test('lagged features put lag 0 first and zero-fill before the first row', () => {
    const m = lagged(mat(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, 2), 2);
    assert.deepEqual(Array.from(m.data), [1, 2, 0, 0, 3, 4, 1, 2, 5, 6, 3, 4]);
  });

  test('R² is 1 for a perfect prediction and 0 for the mean', () => {
    const Y = mat(Float32Array.from([1, 2, 3, 4]), 4, 1);
    assert.deepEqual(r2(Y, Y), [1]);
    assert.ok(Math.abs(r2(Y, mat(new Float32Array(4).fill(2.5), 4, 1))[0]) < 1e-12);
  });

  test('Kalman filter decodes a linear-Gaussian system better than its prior mean', () => {
    const rand = mulberry32(3);
    const n = 3000, nObs = 20;
    const vel = new Float32Array(n * 2);
    let a = 0, b = 0;
    for (let t = 0; t < n; t++) {
      a = 0.95 * a + 0.3 * gaussian(rand);
      b = 0.9 * b + 0.3 * gaussian(rand);
      vel[t * 2] = a; vel[t * 2 + 1] = b;
    }
    const C = Array.from({ length: nObs }, () => [gaussian(rand), gaussian(rand)]);
    const obs = new Float32Array(n * nObs);
    for (let t = 0; t < n; t++) for (let i = 0; i < nObs; i++) obs[t * nObs + i] = 2 + C[i][0] * vel[t * 2] + C[i][1] * vel[t * 2 + 1] + gaussian(rand);
    const V = mat(vel, n, 2), O = mat(obs, n, nObs);
    const km = fitKalman(rowSlice(V, 0, 2000), rowSlice(O, 0, 2000));
    const est = runKalman(km, rowSlice(O, 2000, n));
    const score = r2(rowSlice(V, 2000, n), est);
    assert.ok(score.every((s) => s > 0.8), `Kalman R² ${score}`);
    // And the Wiener filter on the same data is close behind (sanity of both).
    const cv = ridgeCv(lagged(rowSlice(O, 0, 2000), 3), rowSlice(V, 0, 2000));
    const w = r2(rowSlice(V, 2000, n), applyAffine(cv.fit, lagged(rowSlice(O, 2000, n), 3)));
    assert.ok(w.every((s) => s > 0.7), `Wiener R² ${w}`);
  });

  test('bits per spike: positive for the true rates, zero for the mean-rate model', () => {
    const rand = mulberry32(4);
    const n = 2000, N = 5;
    const lr = new Float32Array(n * N);
    const x = new Float32Array(n * N);
    const mean = new Float64Array(N);
    for (let t = 0; t < n; t++) for (let i = 0; i < N; i++) {
      lr[t * N + i] = Math.sin(t / 10 + i);
      x[t * N + i] = poisson(rand, Math.exp(lr[t * N + i]));
      mean[i] += x[t * N + i] / n;
    }
    assert.ok(bitsPerSpike(mat(x, n, N), mat(lr, n, N), mean) > 0.1);
    const flat = new Float32Array(n * N).map((_, j) => Math.log(mean[j % N]));
    assert.ok(Math.abs(bitsPerSpike(mat(x, n, N), mat(flat, n, N), mean)) < 1e-9);
    assert.ok(Math.abs(rateR2(mat(lr, n, N), mat(lr, n, N)) - 1) < 1e-12);
  });
});
