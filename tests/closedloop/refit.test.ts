import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { fitKalman } from '../../calibration/kalman.js';
import { applyAffine, mat, selectRows } from '../../calibration/linear.js';
import { designMatrix, streamFeatures } from '../../calibration/readout.js';
import { Prng } from '../../calibration/simulator/prng.js';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { makeModel, META_MODEL_ID } from '../../model/model-file.js';
import { intentionAgreement } from '../../closedloop/refit/agreement.js';
import { estimateIntention, intentionOf, type Phase } from '../../closedloop/refit/intention.js';
import { refitKalmanObservation, refitReadout, speedRatioOnReach } from '../../closedloop/refit/readout.js';

describe('ReFIT intention estimation', () => {
  const out = [9, 9];
  test('keeps the decoded speed and points it at the target', () => {
    assert.equal(intentionOf(3, 4, 0, 0, 10, 0, 1, 'reach', out), true);
    assert.ok(Math.abs(out[0] - 5) < 1e-12 && Math.abs(out[1]) < 1e-12, `${out}`);
    assert.equal(intentionOf(-6, 8, 1, 1, 1, -9, 1, 'reach', out), true);
    assert.ok(Math.abs(out[0]) < 1e-12 && Math.abs(out[1] + 10) < 1e-12, `${out}`);
  });

  test('zero during the hold and on the target; no label without a target', () => {
    assert.equal(intentionOf(3, 4, 0, 0, 10, 0, 1, 'hold', out), true);
    assert.deepEqual(out, [0, 0]);
    out[0] = 9;
    assert.equal(intentionOf(3, 4, 9.5, 0, 10, 0, 1, 'reach', out), true, 'inside the radius');
    assert.deepEqual(out, [0, 0]);
    assert.equal(intentionOf(3, 4, 0, 0, 10, 0, 1, 'none', out), false);
    assert.equal(intentionOf(3, 4, 0, 0, NaN, NaN, 1, 'reach', out), false, 'no target position');
    assert.equal(intentionOf(NaN, 4, 0, 0, 10, 0, 1, 'reach', out), false, 'no decode');
  });

  test('over a block: a decoder rotated by 40° is relabelled onto the target direction', () => {
    const T = 50;
    const dec = new Float32Array(T * 2), cur = new Float32Array(T * 2), tgt = new Float32Array(T * 3);
    const phase: Phase[] = [];
    const rot = (40 * Math.PI) / 180;
    for (let t = 0; t < T; t++) {
      const a = t * 0.3;
      cur[2 * t] = Math.cos(a); cur[2 * t + 1] = Math.sin(a);
      tgt.set([5, 5, 1], 3 * t);
      // The user intended along cursor→target; the decoder turned it by 40° and scaled it.
      const ix = 5 - cur[2 * t], iy = 5 - cur[2 * t + 1];
      dec[2 * t] = 2 * (Math.cos(rot) * ix - Math.sin(rot) * iy);
      dec[2 * t + 1] = 2 * (Math.sin(rot) * ix + Math.cos(rot) * iy);
      phase.push(t < 40 ? 'reach' : t < 45 ? 'hold' : 'none');
    }
    const { intention, valid } = estimateIntention(mat(dec, T, 2), mat(cur, T, 2), mat(tgt, T, 3), phase);
    for (let t = 0; t < 40; t++) {
      const ix = 5 - cur[2 * t], iy = 5 - cur[2 * t + 1];
      assert.ok(Math.abs(intention.data[2 * t] - 2 * ix) < 1e-4 && Math.abs(intention.data[2 * t + 1] - 2 * iy) < 1e-4, `bin ${t}`);
    }
    assert.deepEqual(valid, [...Array(45).fill(true), ...Array(5).fill(false)]);
    assert.throws(() => estimateIntention(mat(dec, T, 2), mat(cur, T, 2), mat(tgt.subarray(0, 3 * 49), 49, 3), phase), RangeError);
  });
});

describe('ReFIT\'s estimate against a known intention', () => {
  // Four bins 20 ms apart: two reaching along +x, one inside the target, one between trials.
  const stamps = Float64Array.of(10, 10.02, 10.04, 10.06);
  const cursor = mat(Float32Array.of(0, 0, 2, 0, 9.5, 0, 0, 0), 4, 2);
  const target = mat(Float32Array.of(10, 0, 1, 10, 0, 1, 10, 0, 1, NaN, NaN, 1), 4, 3);
  const phase: Phase[] = ['reach', 'reach', 'reach', 'none'];

  test('splits the bins into reach and on-target and scores each against the truth found by stamp', () => {
    // The decoder went at 45° at 10 cm/s; the user wanted +x at 20 cm/s, then 5 cm/s inside.
    const decoded = mat(Float32Array.of(7.0710678, 7.0710678, 7.0710678, 7.0710678, 3, 4, 0, 0), 4, 2);
    const { intention, valid } = estimateIntention(decoded, cursor, target, phase);
    // Truth stamped a few ms off the bins, with one extra sample that matches no bin.
    const truthStamps = Float64Array.of(9.9, 10.003, 10.018, 10.041, 10.062);
    const truth = Float32Array.of(99, 99, 20, 0, 20, 0, 5, 0, 0, 0);
    const a = intentionAgreement(intention, valid, phase, cursor, target, stamps, truthStamps, truth, 0.02);
    assert.equal(a.matched, 3, 'the between-trials bin is not a label');
    assert.equal(a.reach.bins, 2);
    assert.ok(Math.abs(a.reach.angleDeg!) < 1e-4, `re-aimed at the target: angle ${a.reach.angleDeg}`);
    assert.ok(Math.abs(a.reach.speedRatio! - 0.5) < 1e-6, `the decoder's speed kept: ratio ${a.reach.speedRatio}`);
    assert.equal(a.reach.trueSpeed, 20);
    assert.equal(a.onTarget.bins, 1);
    assert.equal(a.onTarget.speedRatio, 0, 'zero on the target while the user still wanted 5 cm/s');
    assert.equal(a.onTarget.trueSpeed, 5);
    assert.equal(a.onTarget.r2, null, 'one bin has no spread to explain');
  });

  test('--on-target skip leaves the bins on the target out instead of labelling them zero', () => {
    const decoded = mat(Float32Array.of(7, 7, 7, 7, 3, 4, 0, 0), 4, 2);
    const zero = estimateIntention(decoded, cursor, target, phase);
    const skip = estimateIntention(decoded, cursor, target, phase, 'skip');
    assert.deepEqual(zero.valid, [true, true, true, false]);
    assert.deepEqual(skip.valid, [true, true, false, false]);
    assert.deepEqual(Array.from(skip.intention.data.subarray(0, 4)), Array.from(zero.intention.data.subarray(0, 4)), 'the reach is labelled alike');
    assert.equal(intentionOf(3, 4, 0, 0, 10, 0, 1, 'hold', [9, 9], 0, 'skip'), false, 'nor the hold');
  });

  test('a truth too far from every bin matches nothing', () => {
    const decoded = mat(new Float32Array(8).fill(1), 4, 2);
    const { intention, valid } = estimateIntention(decoded, cursor, target, phase);
    const a = intentionAgreement(intention, valid, phase, cursor, target, stamps, Float64Array.of(20, 21), Float32Array.of(1, 1, 1, 1), 0.02);
    assert.equal(a.matched, 0);
    assert.equal(a.reach.r2, null);
  });
});

describe('ReFIT refits', () => {
  before(async () => { await useBackend('wasm'); });

  test('the readout refit recovers a known readout of the filter\'s own causal features, and leaves the rest of the model alone', () => {
    const cfg = preset('S', { n_in: 12, n_out: 12, hidden: 8, latent: 8, ff: 16, window: 4, velocity_features: { sources: ['rates', 'h'], lags: 2 } });
    const model = makeModel(cfg, initWeights(cfg, 3), { [META_MODEL_ID]: 'stated-id', 'langevind.provenance': '{"data":"x"}' });
    const rng = new Prng(9);
    const T = 1500, N = 12;
    const counts = mat(Float32Array.from({ length: T * N }, () => rng.poisson(1.5)), T, N);
    const X = designMatrix(streamFeatures(cfg, model.weights, counts), cfg.velocity_features);
    // A known readout of exactly those features is the "intention".
    const truth = { weight: Float32Array.from({ length: 2 * X.cols }, () => rng.normal()), bias: Float32Array.of(0.5, -1), inputs: X.cols, outputs: 2 };
    const Y = applyAffine(truth, X);
    const valid = Array.from({ length: T }, (_, t) => t % 10 !== 0);
    const r = refitReadout(model, counts, Y, valid, { 'langevind.refit': '{"round":1}' });
    assert.ok(r.cvR2 > 0.999, `CV R² ${r.cvR2}`);
    assert.ok(r.after > 0.999 && r.before < 0.5, `before ${r.before}, after ${r.after}`);
    assert.equal(r.bins, valid.filter(Boolean).length);
    const P = applyAffine({ weight: r.model.weights['velocity.weight'], bias: r.model.weights['velocity.bias'], inputs: X.cols, outputs: 2 }, X);
    let err = 0, scale = 0;
    for (let i = 0; i < P.data.length; i++) { err = Math.max(err, Math.abs(P.data[i] - Y.data[i])); scale = Math.max(scale, Math.abs(Y.data[i])); }
    assert.ok(err < 0.03 * scale, `largest prediction error ${err} of ${scale}`);
    for (const [k, w] of Object.entries(model.weights)) if (!k.startsWith('velocity.')) assert.equal(r.model.weights[k], w, `${k} kept`);
    assert.deepEqual(r.model.config, model.config);
    assert.notEqual(r.model.id, 'stated-id', 'the old stated id is not carried over');
    assert.equal(r.model.metadata['langevind.refit'], '{"round":1}');
    assert.equal(r.model.metadata['langevind.provenance'], '{"data":"x"}');
  });

  test('the refit keeps the labels\' speed on the reach: zeros where the features still move shrink a least-squares fit, which is scaled back', () => {
    const cfg = preset('S', { n_in: 12, n_out: 12, hidden: 8, latent: 8, ff: 16, window: 4, velocity_features: { sources: ['rates'], lags: 1 } });
    const model = makeModel(cfg, initWeights(cfg, 5));
    const rng = new Prng(11);
    const T = 1500, N = 12;
    const counts = mat(Float32Array.from({ length: T * N }, () => rng.poisson(1.5)), T, N);
    const X = designMatrix(streamFeatures(cfg, model.weights, counts), cfg.velocity_features);
    const truth = { weight: Float32Array.from({ length: 2 * X.cols }, () => rng.normal()), bias: Float32Array.of(0, 0), inputs: X.cols, outputs: 2 };
    const Y = applyAffine(truth, X);
    // One bin in three "on the target": labelled zero though the features say it moves.
    for (let t = 0; t < T; t += 3) { Y.data[2 * t] = 0; Y.data[2 * t + 1] = 0; }
    const valid = Array.from({ length: T }, () => true);
    const moving = Array.from({ length: T }, (_, t) => t % 3 !== 0);
    const decodedSpeed = (r: ReturnType<typeof refitReadout>): number =>
      speedRatioOnReach(applyAffine({ weight: r.model.weights['velocity.weight'], bias: r.model.weights['velocity.bias'], inputs: X.cols, outputs: 2 }, selectRows(X, moving)), selectRows(Y, moving));
    const fitted = refitReadout(model, counts, Y, valid, {}, { keepSpeed: false });
    const kept = refitReadout(model, counts, Y, valid);
    assert.ok(fitted.fittedSpeed < 0.8, `the least-squares fit decodes ${fitted.fittedSpeed} of the labels' speed`);
    assert.equal(fitted.speedScale, 1);
    assert.ok(Math.abs(decodedSpeed(fitted) - fitted.fittedSpeed) < 1e-6);
    assert.ok(Math.abs(kept.speedScale * kept.fittedSpeed - 1) < 1e-9 && Math.abs(decodedSpeed(kept) - 1) < 1e-4, `scaled by ${kept.speedScale}: decodes ${decodedSpeed(kept)}`);
  });

  test('the ReFIT-KF refit recovers a known observation model and keeps the dynamics', () => {
    const rng = new Prng(4);
    const T = 3000, n = 6, s = 5;
    const C = Array.from({ length: n * s }, () => rng.normal());
    const kin = new Float32Array(T * 4), cnt = new Float32Array(T * n);
    const kin2 = new Float32Array(T * 4), cnt2 = new Float32Array(T * n);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < 4; k++) { kin[t * 4 + k] = Math.sin(t / (7 + k)) * 3; kin2[t * 4 + k] = rng.normal() * 2; }
      for (let i = 0; i < n; i++) {
        let y = C[i * s + 4], y2 = C[i * s + 4];
        for (let k = 0; k < 4; k++) { y += C[i * s + k] * kin[t * 4 + k]; y2 += C[i * s + k] * kin2[t * 4 + k]; }
        cnt[t * n + i] = y + 0.1 * rng.normal();
        cnt2[t * n + i] = y2 + 0.1 * rng.normal();
      }
    }
    // The original fit on other kinematics with a different observation model (counts scrambled).
    const km0 = fitKalman(mat(kin, T, 4), mat(cnt.map((v, j) => cnt[(j * 7) % cnt.length]), T, n));
    const valid = Array.from({ length: T }, (_, t) => t % 3 !== 0);
    const km = refitKalmanObservation(km0, mat(kin2, T, 4), mat(cnt2, T, n), valid);
    let err = 0;
    for (let j = 0; j < n * s; j++) err = Math.max(err, Math.abs(km.C[j] - C[j]));
    assert.ok(err < 0.02, `largest C error ${err}`);
    assert.equal(km.A, km0.A);
    assert.equal(km.Q, km0.Q);
    assert.equal(km.x0, km0.x0);
    assert.notDeepEqual(km.CtRiC, km0.CtRiC);
    assert.throws(() => refitKalmanObservation(km0, mat(kin2.subarray(0, T * 3), T, 3), mat(cnt2, T, n), valid), RangeError);
  });
});
