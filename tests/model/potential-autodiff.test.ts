/**
 * The closed-form ∇U against automatic differentiation of U written the way the authors' code
 * computes it (a conv1d with padding 1, then (Σ_o S)·(Σ_c Z) summed), using TensorFlow.js's CPU
 * backend, the same library the calibration graph uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { gaussian, mulberry32 } from '../../model/init.js';
import { gradPotential, normaliseKernel, potentialEnergy } from '../../model/potential.js';

test('∇U closed form equals TensorFlow.js autodiff of the conv1d potential', async () => {
  await tf.setBackend('cpu');
  for (const [C, L] of [[4, 70], [3, 5], [1, 9]]) {
    const rand = mulberry32(C * 1000 + L);
    const K = Float64Array.from({ length: C * C * 3 }, () => gaussian(rand));
    const Kh = normaliseKernel(K, C, new Float64Array(K.length));
    const z = Float64Array.from({ length: C * L }, () => gaussian(rand));
    // conv1d filter layout [width, in, out]: F[k, i, o] = K̂[o, i, k].
    const F = new Float32Array(3 * C * C);
    for (let o = 0; o < C; o++) for (let i = 0; i < C; i++) for (let k = 0; k < 3; k++) F[(k * C + i) * C + o] = Kh[(o * C + i) * 3 + k];
    const filter = tf.tensor3d(F, [3, C, C]);
    const energy = (zt: tf.Tensor): tf.Scalar => {
      const Z = zt.reshape([C, L]).transpose().reshape([1, L, C]); // NWC
      const S = tf.conv1d(Z as tf.Tensor3D, filter, 1, 'same');
      return tf.sum(tf.mul(tf.sum(S, 2), tf.sum(Z, 2)));
    };
    const zt = tf.tensor1d(Float32Array.from(z));
    const Utf = (await energy(zt).data())[0];
    const gtf = await tf.grad(energy)(zt).data();
    const U = potentialEnergy(z, Kh, C, L);
    const g = new Float64Array(C * L);
    gradPotential(g, z, Kh, C, L);
    assert.ok(Math.abs(Utf - U) <= 1e-4 * (1 + Math.abs(U)), `U: tf ${Utf} vs ${U}`);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < g.length; i++) {
      diff = Math.max(diff, Math.abs(gtf[i] - g[i]));
      scale = Math.max(scale, Math.abs(g[i]));
    }
    assert.ok(scale > 0 && diff / scale <= 1e-5, `C=${C} L=${L}: ∇U differs from autodiff by ${diff} (scale ${scale})`);
    tf.dispose([filter, zt]);
  }
});
